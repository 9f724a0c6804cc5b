import pytest

from apps.accounts import services
from apps.accounts.models import User
from apps.accounts.roles import Role
from apps.audit.models import AuditEntry
from apps.audit.services import PERSONAL_DATA_MARK
from apps.core.exceptions import BusinessRuleViolation
from apps.core.models import OutboundEmail


@pytest.mark.django_db
def test_create_user_writes_an_audit_entry_without_personal_data(
    quality_manager, django_capture_on_commit_callbacks, settings
):
    settings.SITE_URL = "https://qms.example.com"
    with django_capture_on_commit_callbacks() as callbacks:
        user = services.user_create(
            email="New.Person@Example.com", full_name="New Person", role=Role.STAFF, actor=quality_manager,
        )  # fmt: skip
    assert user.email == "new.person@example.com"
    assert user.role == Role.STAFF
    assert not user.has_usable_password()
    entry = AuditEntry.objects.for_object(user).get()
    assert entry.action == AuditEntry.Action.CREATE
    assert entry.actor == quality_manager
    assert entry.changes["email"] == [PERSONAL_DATA_MARK, PERSONAL_DATA_MARK]
    assert entry.changes["role"] == [None, "staff"]
    (invitation,) = OutboundEmail.objects.all()
    assert invitation.to == "new.person@example.com"
    assert "https://qms.example.com/accounts/password/reset/" in invitation.body
    assert len(callbacks) == 1


@pytest.mark.django_db
def test_duplicate_email_is_refused_case_insensitively(quality_manager):
    with pytest.raises(BusinessRuleViolation):
        services.user_create(email="QM@example.com", full_name="Twin", role=Role.STAFF, actor=quality_manager)
    assert User.objects.filter(email__iexact="qm@example.com").count() == 1


@pytest.mark.django_db
def test_role_change_keeps_one_role_and_is_audited(quality_manager, staff):
    services.user_set_role(user_id=staff.pk, role=Role.AUDITOR, actor=quality_manager, reason="moved to QA audit")
    staff = User.objects.get(pk=staff.pk)
    assert staff.role == Role.AUDITOR
    assert staff.groups.count() == 1
    entry = AuditEntry.objects.for_object(staff).get(action=AuditEntry.Action.ROLE_CHANGE)
    assert entry.changes == {"role": ["staff", "auditor"]}
    assert entry.reason == "moved to QA audit"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("service", "kwargs"),
    [(services.user_set_role, {"role": Role.STAFF}), (services.user_set_active, {"active": False})],
    ids=["demote", "deactivate"],
)
def test_the_last_active_quality_manager_cannot_be_removed(quality_manager, service, kwargs):
    with pytest.raises(BusinessRuleViolation, match="at least one active quality manager"):
        service(user_id=quality_manager.pk, actor=quality_manager, **kwargs)
    quality_manager = User.objects.get(pk=quality_manager.pk)
    assert (quality_manager.role, quality_manager.is_active) == (Role.QUALITY_MANAGER, True)


@pytest.mark.django_db
def test_a_second_manager_makes_demotion_possible(quality_manager, staff):
    services.user_set_role(user_id=staff.pk, role=Role.QUALITY_MANAGER, actor=quality_manager)
    services.user_set_role(user_id=quality_manager.pk, role=Role.STAFF, actor=staff)
    assert User.objects.get(pk=quality_manager.pk).role == Role.STAFF


@pytest.mark.django_db
def test_deactivation_is_audited(quality_manager, staff):
    services.user_set_active(user_id=staff.pk, active=False, actor=quality_manager, reason="left the company")
    staff.refresh_from_db()
    assert staff.is_active is False
    entry = AuditEntry.objects.for_object(staff).get()
    assert (entry.changes, entry.reason) == ({"is_active": [True, False]}, "left the company")


@pytest.mark.django_db
def test_create_quality_manager_command_goes_through_the_audited_service(capsys):
    from django.core.management import call_command

    call_command(
        "create_quality_manager",
        "--email",
        "boss@example.com",
        "--full-name",
        "Bo Ss",
    )
    user = User.objects.get(email="boss@example.com")
    assert user.role == Role.QUALITY_MANAGER
    assert AuditEntry.objects.for_object(user).filter(action=AuditEntry.Action.CREATE, actor_kind="system").exists()


@pytest.mark.django_db
def test_seed_demo_is_idempotent():
    from django.core.management import call_command

    call_command("seed_demo")
    call_command("seed_demo")
    demo = User.objects.filter(email__in=["manager@example.com", "staff@example.com", "auditor@example.com"])
    assert sorted(u.role for u in demo) == sorted([Role.QUALITY_MANAGER, Role.STAFF, Role.AUDITOR])
    assert all(u.check_password("demo-pass-2026") for u in demo)


REVIEW = "requirements.review_customerrequirement"


@pytest.mark.django_db
def test_quality_manager_gives_a_staff_member_the_review_duty(quality_manager, staff):
    services.user_set_capabilities(user_id=staff.pk, permissions={REVIEW}, actor=quality_manager, reason="backup")
    staff = User.objects.get(pk=staff.pk)
    assert staff.has_perm(REVIEW)
    assert services.user_capabilities(staff) == {REVIEW}
    entry = AuditEntry.objects.for_object(staff).get(action=AuditEntry.Action.ROLE_CHANGE)
    assert entry.changes == {"capabilities": [[], [REVIEW]]}
    services.user_set_capabilities(user_id=staff.pk, permissions=set(), actor=quality_manager)
    assert not User.objects.get(pk=staff.pk).has_perm(REVIEW)


@pytest.mark.django_db
def test_auditors_cannot_be_given_a_duty_that_writes(quality_manager, auditor):
    with pytest.raises(BusinessRuleViolation, match="cannot be given to this role"):
        services.user_set_capabilities(user_id=auditor.pk, permissions={REVIEW}, actor=quality_manager)
    assert not User.objects.get(pk=auditor.pk).has_perm(REVIEW)


@pytest.mark.django_db
def test_unchanged_capabilities_write_no_audit_entry(quality_manager, staff):
    services.user_set_capabilities(user_id=staff.pk, permissions=set(), actor=quality_manager)
    assert not AuditEntry.objects.for_object(staff).exists()
