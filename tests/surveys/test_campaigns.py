"""Campaign services: create, change, schedule, cancel, CSV audiences; permissions and audit."""

from datetime import timedelta
from io import BytesIO
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from apps.accounts.models import User
from apps.accounts.services import user_set_capabilities
from apps.audit.models import AuditEntry
from apps.core.exceptions import BusinessRuleViolation, InvalidTransition
from apps.surveys.models import MANAGE_PERMISSION, Campaign, SurveyOptOut, Wave
from apps.surveys.services import campaigns as services
from apps.surveys.services import dispatch
from apps.surveys.services.templates import template_set_active
from tests.customers.factories import ContactFactory, CustomerFactory, ProductFactory
from tests.surveys.factories import CampaignFactory, TemplateVersionFactory

Status = Campaign.Status


@pytest.fixture
def campaign_staff(other_staff, quality_manager):
    """A staff member given the "run survey campaigns" capability on the People page."""
    user_set_capabilities(user_id=other_staff.pk, permissions={MANAGE_PERMISSION}, actor=quality_manager)
    return User.objects.get(pk=other_staff.pk)


@pytest.fixture
def version(db):
    return TemplateVersionFactory()


def later(**kwargs):
    return timezone.now() + timedelta(**(kwargs or {"days": 2}))


def make(actor, version, **overrides):
    data = {
        "name": "Relationship NPS 2026",
        "description": "Quarterly",
        "template_version": version,
        "audience_kind": "segments",
        "audience_segments": ["Enterprise", " SME "],
        "recurrence": "quarterly",
        "next_run_at": later(),
        **overrides,
    }
    return services.campaign_create(actor=actor, **data)


def entries(obj, action):
    return list(AuditEntry.objects.for_object(obj).filter(action=action))


def csv_file(*lines: str) -> BytesIO:
    return BytesIO("\n".join(lines).encode())


def consenting(email, **kwargs):
    return ContactFactory(email=email, survey_consent=True, survey_consent_source="contract", **kwargs)


# Create ---------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["quality_manager", "campaign_staff"])
def test_managers_and_staff_with_the_capability_create_drafts(request, version, persona):
    user = request.getfixturevalue(persona)
    campaign = make(user, version)
    assert (campaign.status, campaign.owner, campaign.created_by) == (Status.DRAFT, user, user)
    assert campaign.audience_segments == ["Enterprise", "SME"]
    entry = entries(campaign, "create")[0]
    assert entry.actor == user
    assert entry.changes["status"] == [None, "draft"]


@pytest.mark.parametrize("persona", ["staff", "auditor"])
def test_staff_without_the_capability_and_auditors_run_no_campaign(personas, version, persona):
    user = personas[persona]
    campaign = CampaignFactory(status=Status.DRAFT)
    calls = [
        lambda: make(user, version),
        lambda: services.campaign_update(campaign_id=campaign.pk, actor=user, name="X"),
        lambda: services.campaign_schedule(campaign_id=campaign.pk, actor=user),
        lambda: services.campaign_cancel(campaign_id=campaign.pk, actor=user, reason="r"),
        lambda: services.campaign_import_contacts(campaign_id=campaign.pk, actor=user, file=csv_file("email")),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied):
            call()
    assert Campaign.objects.count() == 1
    assert Campaign.objects.get().status == Status.DRAFT


# Who may change which campaign -----------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "owner", "allowed"),
    [
        ("quality_manager", "quality_manager", True),
        ("quality_manager", "campaign_staff", True),
        ("campaign_staff", "campaign_staff", True),
        ("campaign_staff", "quality_manager", False),
        ("staff", "staff", False),
        ("auditor", "quality_manager", False),
        ("anonymous", "quality_manager", False),
    ],
)
def test_campaigns_are_changed_by_their_owner_or_a_quality_manager(db, request, persona, owner, allowed):
    campaign = CampaignFactory(owner=request.getfixturevalue(owner))
    assert campaign.can_be_changed_by(request.getfixturevalue(persona)) is allowed


def test_a_deactivated_owner_changes_nothing(campaign_staff):
    campaign = CampaignFactory(owner=campaign_staff)
    campaign_staff.is_active = False
    assert not campaign.can_be_changed_by(campaign_staff)


def _owned_by_the_manager_calls(campaign_id: int):
    return {
        "update": lambda user: services.campaign_update(campaign_id=campaign_id, actor=user, name="Mine now"),
        "schedule": lambda user: services.campaign_schedule(campaign_id=campaign_id, actor=user),
        "unschedule": lambda user: services.campaign_unschedule(campaign_id=campaign_id, actor=user),
        "cancel": lambda user: services.campaign_cancel(campaign_id=campaign_id, actor=user, reason="Not mine"),
        "import": lambda user: services.campaign_import_contacts(
            campaign_id=campaign_id, actor=user, file=csv_file("email", "x@example.com")
        ),
        "send-now": lambda user: dispatch.campaign_send_now(campaign_id=campaign_id, actor=user),
    }


@pytest.mark.parametrize("call", ["update", "schedule", "unschedule", "cancel", "import", "send-now"])
@pytest.mark.parametrize(("persona", "allowed"), [("campaign_staff", False), ("quality_manager", True)])
def test_staff_running_campaigns_change_only_their_own(request, quality_manager, call, persona, allowed):
    status = Status.DRAFT if call in ("update", "schedule", "import") else Status.SCHEDULED
    campaign = CampaignFactory(status=status, owner=quality_manager, next_run_at=later())
    consenting("x@example.com")
    user = request.getfixturevalue(persona)
    run = _owned_by_the_manager_calls(campaign.pk)[call]
    with mock.patch("apps.surveys.tasks.tick_task.delay"):
        if allowed:
            run(user)
        else:
            with pytest.raises(PermissionDenied):
                run(user)
    assert AuditEntry.objects.for_object(campaign).exists() is allowed


@pytest.mark.parametrize(
    ("status", "recurrence", "can"),
    [
        (Status.DRAFT, "monthly", False),
        (Status.SCHEDULED, "once", True),
        (Status.ACTIVE, "once", False),
        (Status.ACTIVE, "quarterly", True),
        (Status.COMPLETED, "once", False),
        (Status.CANCELLED, "yearly", False),
    ],
)
def test_only_scheduled_and_active_recurring_campaigns_can_be_sent_now(status, recurrence, can):
    assert Campaign(status=status, recurrence=recurrence).can_send_now is can


# Validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": " "}, "name"),
        ({"audience_segments": []}, "audience_segments"),
        ({"audience_kind": "product"}, "audience_product"),
        ({"audience_kind": "everyone"}, "audience_kind"),
        ({"recurrence": "weekly"}, "recurrence"),
        ({"next_run_at": timezone.now() - timedelta(minutes=1)}, "next_run_at"),
        ({"reminder_interval_days": 0}, "reminder_interval_days"),
        ({"max_reminders": 11}, "max_reminders"),
        ({"close_after_days": 0}, "close_after_days"),
        ({"send_rate_per_minute": 0}, "send_rate_per_minute"),
    ],
)
def test_invalid_fields_are_refused_on_their_field(quality_manager, version, overrides, field):
    with pytest.raises(ValidationError) as error:
        make(quality_manager, version, **overrides)
    assert field in error.value.message_dict
    assert not Campaign.objects.exists()


@pytest.mark.parametrize(
    ("recurrence", "fatigue_days", "accepted"),
    [
        ("monthly", 30, False),  # the default: February 15 to March 15 is only 28 days
        ("monthly", 28, False),
        ("monthly", 27, True),
        ("quarterly", 89, False),
        ("quarterly", 88, True),
        ("yearly", 365, False),
        ("yearly", 364, True),
        ("once", 365, True),
    ],
)
def test_fatigue_must_be_shorter_than_the_recurrences_shortest_gap(
    quality_manager, version, recurrence, fatigue_days, accepted
):
    if accepted:
        assert make(quality_manager, version, recurrence=recurrence, fatigue_days=fatigue_days).pk
        return
    with pytest.raises(ValidationError) as error:
        make(quality_manager, version, recurrence=recurrence, fatigue_days=fatigue_days)
    (message,) = error.value.message_dict["fatigue_days"]
    assert f"at most {Campaign.fatigue_limit(recurrence)} days" in message
    assert not Campaign.objects.exists()


@pytest.mark.parametrize(("recurrence", "expected"), [("monthly", 27), ("quarterly", 30), ("once", 30)])
def test_the_default_fatigue_fits_the_recurrence(quality_manager, version, recurrence, expected):
    assert make(quality_manager, version, recurrence=recurrence).fatigue_days == expected


def test_making_a_campaign_monthly_checks_its_fatigue(quality_manager, version):
    campaign = make(quality_manager, version, recurrence="quarterly", fatigue_days=30)
    with pytest.raises(ValidationError) as error:
        services.campaign_update(campaign_id=campaign.pk, actor=quality_manager, recurrence="monthly")
    assert "fatigue_days" in error.value.message_dict
    services.campaign_update(campaign_id=campaign.pk, actor=quality_manager, recurrence="monthly", fatigue_days=20)
    campaign.refresh_from_db()
    assert (campaign.recurrence, campaign.fatigue_days) == ("monthly", 20)


def test_owner_must_be_allowed_to_run_campaigns(quality_manager, staff, version):
    with pytest.raises(ValidationError) as error:
        make(quality_manager, version, owner=staff)
    assert "owner" in error.value.message_dict


def test_retired_questionnaire_cannot_start_a_campaign(quality_manager, version):
    template_set_active(template_id=version.template_id, actor=quality_manager, is_active=False)
    with pytest.raises(ValidationError) as error:
        make(quality_manager, version)
    assert "retired" in error.value.message_dict["template_version"][0]


def test_audience_keeps_only_the_fields_of_its_kind(quality_manager, version):
    product = ProductFactory()
    contact = consenting("a@example.com")
    campaign = make(
        quality_manager,
        version,
        audience_kind="product",
        audience_product=product,
        audience_contacts=[contact],
    )
    assert (campaign.audience_segments, campaign.audience_product) == ([], product)
    assert not campaign.audience_contacts.exists()
    by_list = make(quality_manager, version, audience_kind="contacts", audience_contacts=[contact])
    assert list(by_list.audience_contacts.all()) == [contact]
    assert entries(by_list, "create")[0].changes["audience_contacts"] == [None, [contact.pk]]


# Update ---------------------------------------------------------------------------------


def test_update_changes_fields_and_audits_before_and_after(quality_manager, version):
    campaign = make(quality_manager, version)
    services.campaign_update(campaign_id=campaign.pk, actor=quality_manager, name="Renamed", max_reminders=3)
    campaign.refresh_from_db()
    assert (campaign.name, campaign.max_reminders) == ("Renamed", 3)
    changes = entries(campaign, "update")[0].changes
    assert changes == {"name": ["Relationship NPS 2026", "Renamed"], "max_reminders": [2, 3]}


def test_update_with_unchanged_values_writes_nothing(quality_manager, version):
    campaign = make(quality_manager, version)
    services.campaign_update(
        campaign_id=campaign.pk,
        actor=quality_manager,
        name=campaign.name,
        audience_segments=["SME", "Enterprise"],
        audience_contacts=[],
    )
    assert entries(campaign, "update") == []


def test_audience_and_questionnaire_are_fixed_after_the_first_wave(quality_manager, version):
    campaign = CampaignFactory(status=Status.ACTIVE, owner=quality_manager)
    Wave.objects.create(campaign=campaign, number=1, scheduled_for=timezone.now(), closes_at=later())
    Campaign.objects.filter(pk=campaign.pk).unaudited_update(last_wave_number=1)
    for change in [{"audience_segments": ["SME"]}, {"template_version": version}, {"audience_kind": "contacts"}]:
        with pytest.raises(BusinessRuleViolation):
            services.campaign_update(campaign_id=campaign.pk, actor=quality_manager, **change)
    # The schedule still changes while the campaign is active.
    services.campaign_update(campaign_id=campaign.pk, actor=quality_manager, reminder_interval_days=3)
    campaign.refresh_from_db()
    assert (campaign.audience_segments, campaign.reminder_interval_days) == (["Enterprise"], 3)


@pytest.mark.parametrize("status", [Status.COMPLETED, Status.CANCELLED])
def test_final_campaigns_cannot_be_changed(quality_manager, status):
    campaign = CampaignFactory(status=status)
    with pytest.raises(BusinessRuleViolation):
        services.campaign_update(campaign_id=campaign.pk, actor=quality_manager, next_run_at=later(days=9))


def test_scheduled_campaign_keeps_a_future_next_send_time(quality_manager):
    campaign = CampaignFactory(status=Status.SCHEDULED)
    with pytest.raises(ValidationError) as error:
        services.campaign_update(campaign_id=campaign.pk, actor=quality_manager, next_run_at=None)
    assert "next_run_at" in error.value.message_dict
    with pytest.raises(ValidationError):
        services.campaign_update(
            campaign_id=campaign.pk, actor=quality_manager, next_run_at=timezone.now() - timedelta(hours=1)
        )


def test_running_one_off_campaign_gets_no_second_send_time(quality_manager):
    campaign = CampaignFactory(status=Status.ACTIVE, next_run_at=None, recurrence="once")
    with pytest.raises(ValidationError) as error:
        services.campaign_update(campaign_id=campaign.pk, actor=quality_manager, next_run_at=later())
    assert "sent once" in error.value.message_dict["next_run_at"][0]
    services.campaign_update(campaign_id=campaign.pk, actor=quality_manager, recurrence="yearly", next_run_at=later())
    assert Campaign.objects.get(pk=campaign.pk).recurrence == "yearly"


def test_an_active_campaign_made_recurring_needs_its_next_send_time(quality_manager):
    # A one-off campaign that has sent has no next run: made recurring without one, it would
    # never send again nor ever complete.
    campaign = CampaignFactory(status=Status.ACTIVE, next_run_at=None, recurrence="once")
    with pytest.raises(ValidationError) as error:
        services.campaign_update(campaign_id=campaign.pk, actor=quality_manager, recurrence="quarterly")
    assert "next_run_at" in error.value.message_dict
    with pytest.raises(ValidationError):
        services.campaign_update(
            campaign_id=campaign.pk,
            actor=quality_manager,
            recurrence="quarterly",
            next_run_at=timezone.now() - timedelta(hours=1),
        )
    assert Campaign.objects.get(pk=campaign.pk).recurrence == "once"
    services.campaign_update(
        campaign_id=campaign.pk, actor=quality_manager, recurrence="quarterly", next_run_at=later()
    )
    assert Campaign.objects.due(later(days=3)).filter(pk=campaign.pk).exists()


def test_update_refuses_unknown_fields(quality_manager):
    campaign = CampaignFactory()
    with pytest.raises(TypeError):
        services.campaign_update(campaign_id=campaign.pk, actor=quality_manager, status="active")


# Transitions ----------------------------------------------------------------------------


def test_schedule_then_unschedule_are_audited_transitions(quality_manager, version):
    campaign = make(quality_manager, version)
    services.campaign_schedule(campaign_id=campaign.pk, actor=quality_manager)
    assert Campaign.objects.get(pk=campaign.pk).status == Status.SCHEDULED
    services.campaign_unschedule(campaign_id=campaign.pk, actor=quality_manager)
    assert Campaign.objects.get(pk=campaign.pk).status == Status.DRAFT
    assert [e.changes["status"] for e in entries(campaign, "transition")] == [
        ["scheduled", "draft"],
        ["draft", "scheduled"],
    ]


def test_schedule_needs_a_future_next_send_time(quality_manager, version):
    campaign = make(quality_manager, version, next_run_at=None)
    with pytest.raises(BusinessRuleViolation):
        services.campaign_schedule(campaign_id=campaign.pk, actor=quality_manager)
    Campaign.objects.filter(pk=campaign.pk).unaudited_update(next_run_at=timezone.now() - timedelta(minutes=5))
    with pytest.raises(BusinessRuleViolation):
        services.campaign_schedule(campaign_id=campaign.pk, actor=quality_manager)
    assert Campaign.objects.get(pk=campaign.pk).status == Status.DRAFT


def test_schedule_needs_an_audience(quality_manager, version):
    campaign = make(quality_manager, version, audience_kind="contacts", audience_contacts=[])
    with pytest.raises(BusinessRuleViolation):
        services.campaign_schedule(campaign_id=campaign.pk, actor=quality_manager)


@pytest.mark.parametrize(
    ("status", "call"),
    [
        (Status.SCHEDULED, "campaign_schedule"),
        (Status.ACTIVE, "campaign_schedule"),
        (Status.DRAFT, "campaign_unschedule"),
        (Status.ACTIVE, "campaign_unschedule"),
        (Status.COMPLETED, "campaign_unschedule"),
    ],
)
def test_forbidden_transitions_raise_invalid_transition(quality_manager, status, call):
    campaign = CampaignFactory(status=status)
    with pytest.raises(InvalidTransition):
        getattr(services, call)(campaign_id=campaign.pk, actor=quality_manager)
    assert Campaign.objects.get(pk=campaign.pk).status == status


@pytest.mark.parametrize("status", [Status.DRAFT, Status.SCHEDULED, Status.ACTIVE])
def test_cancel_is_final_and_keeps_the_reason(quality_manager, status):
    campaign = CampaignFactory(status=status)
    services.campaign_cancel(campaign_id=campaign.pk, actor=quality_manager, reason="Budget freeze")
    assert Campaign.objects.get(pk=campaign.pk).status == Status.CANCELLED
    assert entries(campaign, "transition")[0].reason == "Budget freeze"
    with pytest.raises(InvalidTransition):
        services.campaign_cancel(campaign_id=campaign.pk, actor=quality_manager, reason="again")


def test_cancel_needs_a_reason(quality_manager):
    campaign = CampaignFactory()
    with pytest.raises(ValidationError):
        services.campaign_cancel(campaign_id=campaign.pk, actor=quality_manager, reason="  ")
    assert Campaign.objects.get(pk=campaign.pk).status == Status.SCHEDULED


# CSV audience ---------------------------------------------------------------------------


def test_csv_upload_adds_consenting_contacts_and_reports_the_other_rows(quality_manager):
    customer = CustomerFactory()
    yes = consenting("yes@example.com", customer=customer)
    also = consenting("also@example.com", customer=customer)
    ContactFactory(email="no@example.com", customer=customer)
    opted = consenting("opted@example.com", customer=customer)
    SurveyOptOut.objects.create(contact=opted)
    campaign = CampaignFactory(status=Status.DRAFT)
    upload = csv_file(
        "Name;E-Mail",
        "Yes;YES@example.com ",
        "No;no@example.com",
        "Nobody;nobody@example.com",
        ";",
        "Opted;opted@example.com",
        "Again;yes@example.com",
        "Blank;",
        "Also;also@example.com",
    )
    result = services.campaign_import_contacts(campaign_id=campaign.pk, actor=quality_manager, file=upload)
    assert (result.added, result.already_in, result.file_refused) == (2, 0, False)
    assert [(p.row, p.message) for p in result.problems] == [
        (3, "This contact has not agreed to surveys (or is inactive or erased)."),
        (4, "No contact has this e-mail address."),
        (6, "This contact opted out of surveys."),
        (7, "Same e-mail as row 2."),
        (8, "No e-mail address in this row."),
    ]
    campaign.refresh_from_db()
    assert (campaign.audience_kind, campaign.audience_segments) == ("contacts", [])
    assert set(campaign.audience_contacts.all()) == {yes, also}
    entry = entries(campaign, "update")[0]
    assert entry.changes["audience_contacts"] == [[], sorted([yes.pk, also.pk])]
    assert "yes@example.com" not in str(entry.changes)
    again = services.campaign_import_contacts(
        campaign_id=campaign.pk, actor=quality_manager, file=csv_file("email", "yes@example.com")
    )
    assert (again.added, again.already_in) == (0, 1)
    assert len(entries(campaign, "update")) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"name\nPat\n", "must name an"),
        (b"email\n", "no data rows"),
        (b"email\n" + b"x@example.com\n" * 5001, "more than 5000 rows"),
        (b"\xff\xfe\x00e", "not UTF-8"),
        (b"email\n" + b"a" * (2 * 1024 * 1024), "larger than 2 MB"),
    ],
)
def test_unreadable_files_change_nothing(quality_manager, content, message):
    campaign = CampaignFactory(status=Status.DRAFT)
    result = services.campaign_import_contacts(campaign_id=campaign.pk, actor=quality_manager, file=BytesIO(content))
    assert result.file_refused
    assert message in result.problems[0].message
    campaign.refresh_from_db()
    assert campaign.audience_kind == "segments"
    assert entries(campaign, "update") == []


def test_csv_upload_is_refused_after_the_first_wave(quality_manager):
    campaign = CampaignFactory(status=Status.ACTIVE)
    with pytest.raises(BusinessRuleViolation):
        services.campaign_import_contacts(
            campaign_id=campaign.pk, actor=quality_manager, file=csv_file("email", "a@example.com")
        )
