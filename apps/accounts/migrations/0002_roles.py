"""The three role groups and the account permissions each holds."""

from django.db import migrations

from apps.accounts.roles import grant_permissions, revoke_permissions

GRANTS = {
    "quality_manager": ["accounts.view_user", "accounts.add_user", "accounts.change_user"],
    "staff": [],
    "auditor": ["accounts.view_user"],
}


def forwards(apps, schema_editor):
    grant_permissions(apps, GRANTS)


def backwards(apps, schema_editor):
    revoke_permissions(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
