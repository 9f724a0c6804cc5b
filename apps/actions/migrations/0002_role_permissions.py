"""Corrective actions for every role: quality managers verify, staff work on them, auditors read."""

from django.db import migrations

from apps.accounts.roles import grants_migration

VIEW = ["actions.view_correctiveaction", "actions.view_actionplanitem"]
WRITE = ["actions.add_correctiveaction", "actions.change_correctiveaction"]


class Migration(migrations.Migration):
    dependencies = [("actions", "0001_initial"), ("accounts", "0002_roles")]

    operations = [
        grants_migration(
            {
                "quality_manager": [*VIEW, *WRITE, "actions.verify_correctiveaction"],
                "staff": [*VIEW, *WRITE],
                "auditor": VIEW,
            }
        )
    ]
