"""The three role groups and the account permissions each holds."""

from django.db import migrations

from apps.accounts.roles import grants_migration


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        grants_migration(
            {
                "quality_manager": ["accounts.view_user", "accounts.add_user", "accounts.change_user"],
                "staff": [],
                "auditor": ["accounts.view_user"],
            }
        )
    ]
