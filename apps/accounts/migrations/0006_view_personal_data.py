"""One permission for reading personal data (apps.core.personal_data.VIEW_PERMISSION).

Quality managers and staff hold it through their role, as they read contacts and complainants
to do their work; auditors only when given it individually. Whoever was given the evidence-pack
personal-data permission keeps that trust under the one permission: taking personal data away
in a pack implies reading it.
"""

from django.db import migrations

from apps.accounts.roles import grants_migration

NEW = ("accounts", "view_personal_data")
OLD = ("evidence", "export_personal_data")


def _permission(apps, app_label: str, codename: str):
    return (
        apps.get_model("auth", "Permission")
        .objects.filter(content_type__app_label=app_label, codename=codename)
        .first()
    )


def carry_over(apps, schema_editor):
    old, new = _permission(apps, *OLD), _permission(apps, *NEW)
    if old is None or new is None:
        return
    User = apps.get_model("accounts", "User")
    for user in User.objects.filter(user_permissions=old):
        user.user_permissions.add(new)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_login_identifiers"), ("evidence", "0002_evidence_packs")]

    operations = [
        migrations.AlterModelOptions(
            name="user",
            options={
                "ordering": ["full_name", "id"],
                "permissions": [("view_personal_data", "Can see personal data of customers and the public")],
                "verbose_name": "user",
                "verbose_name_plural": "users",
            },
        ),
        grants_migration(
            {"quality_manager": ["accounts.view_personal_data"], "staff": ["accounts.view_personal_data"]}
        ),
        migrations.RunPython(carry_over, migrations.RunPython.noop),
    ]
