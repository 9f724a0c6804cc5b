import pytest
from django.contrib.auth.models import Group

from apps.accounts.roles import GROUP_NAMES, Role


@pytest.fixture(autouse=True)
def _role_groups(db):
    from tests.migrated_data import ensure_role_groups

    ensure_role_groups()


def test_migrations_create_the_three_role_groups():
    assert set(Group.objects.values_list("name", flat=True)) >= set(GROUP_NAMES.values())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "allowed", "denied"),
    [
        (Role.QUALITY_MANAGER, {"accounts.add_user", "accounts.change_user", "audit.view_auditentry"}, set()),
        (Role.AUDITOR, {"accounts.view_user", "audit.view_auditentry"}, {"accounts.add_user", "accounts.change_user"}),
        (Role.STAFF, set(), {"accounts.view_user", "accounts.add_user", "audit.view_auditentry"}),
    ],
)
def test_role_groups_hold_their_permissions(role, allowed, denied):
    group = Group.objects.get(name=GROUP_NAMES[role])
    held = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}
    assert allowed <= held
    assert not (denied & held)


@pytest.mark.django_db
def test_auditors_hold_only_view_permissions():
    group = Group.objects.get(name=GROUP_NAMES[Role.AUDITOR])
    assert group.permissions.exists()
    assert all(codename.startswith("view_") for codename in group.permissions.values_list("codename", flat=True))


@pytest.mark.django_db
def test_role_is_read_from_the_group(quality_manager, staff, auditor):
    assert (quality_manager.role, staff.role, auditor.role) == (Role.QUALITY_MANAGER, Role.STAFF, Role.AUDITOR)
    assert auditor.role_label == "Auditor"
