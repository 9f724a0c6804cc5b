"""Quality objectives for every role: quality managers own them, staff record their own figures, auditors read."""

from django.db import migrations

from apps.accounts.roles import grants_migration

VIEW = ["objectives.view_qualityobjective", "objectives.view_measurement"]


class Migration(migrations.Migration):
    dependencies = [("objectives", "0001_initial"), ("accounts", "0002_roles")]

    operations = [
        grants_migration(
            {
                "quality_manager": [
                    *VIEW,
                    "objectives.add_qualityobjective",
                    "objectives.change_qualityobjective",
                    "objectives.add_measurement",
                    "objectives.change_measurement",
                ],
                "staff": [*VIEW, "objectives.add_measurement"],
                "auditor": VIEW,
            }
        )
    ]
