"""The portal's roles. A role is a Django group holding model permissions.

Each app grants its permissions to the groups in a data migration of its own
(`grant_permissions` below), so a new app never edits another app's code.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    QUALITY_MANAGER = "quality_manager", _("Quality manager")
    STAFF = "staff", _("Staff")
    AUDITOR = "auditor", _("Auditor")


# Group names are part of the data (created by migration accounts.0002); keep them stable.
GROUP_NAMES: dict[str, str] = {
    Role.QUALITY_MANAGER: "Quality manager",
    Role.STAFF: "Staff",
    Role.AUDITOR: "Auditor",
}
ROLE_BY_GROUP = {name: role for role, name in GROUP_NAMES.items()}
# When a user somehow holds several groups, the most privileged one names the role.
PRECEDENCE = [Role.QUALITY_MANAGER, Role.STAFF, Role.AUDITOR]


def grants_migration(grants: dict[str, list[str]]):
    """A reversible migration operation giving the role groups these permissions.

    operations = [grants_migration({Role.AUDITOR: ["myapp.view_thing"]})]
    """
    from django.db import migrations

    def forwards(apps, schema_editor):
        grant_permissions(apps, grants)

    def backwards(apps, schema_editor):
        revoke_permissions(apps, grants)

    return migrations.RunPython(forwards, backwards)


def grant_permissions(apps, grants: dict[str, list[str]]) -> None:
    """Give each role group the listed "app_label.codename" permissions.

    For use inside a migration's RunPython: creates the groups and any
    permission rows that post_migrate has not created yet.
    """
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    group_model = apps.get_model("auth", "Group")
    # The class Group's relation expects: replaying these migrations on a state that a schema
    # change re-rendered in part (tests/migrated_data.py) may hold two Permission classes.
    permission_model = group_model._meta.get_field("permissions").related_model
    for role, names in grants.items():
        group, _created = group_model.objects.get_or_create(name=GROUP_NAMES[role])
        for name in names:
            app_label, codename = name.split(".", 1)
            group.permissions.add(permission_model.objects.get(content_type__app_label=app_label, codename=codename))


def revoke_permissions(apps, grants: dict[str, list[str]]) -> None:
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for role, names in grants.items():
        group = group_model.objects.filter(name=GROUP_NAMES[role]).first()
        if group is None:
            continue
        for name in names:
            app_label, codename = name.split(".", 1)
            group.permissions.remove(
                *permission_model.objects.filter(content_type__app_label=app_label, codename=codename)
            )
