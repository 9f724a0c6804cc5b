"""Complaints for every role: quality managers handle and assign all, staff handle their own, auditors read."""

from django.db import migrations

from apps.accounts.roles import grants_migration

MODELS = ["complaint", "complaintcategory", "complaintmessage", "complaintattachment"]
VIEW_ALL = [f"complaints.view_{model}" for model in MODELS]
WRITE_ALL = [f"complaints.{verb}_{model}" for model in MODELS for verb in ("add", "change")]


class Migration(migrations.Migration):
    dependencies = [("complaints", "0001_initial"), ("accounts", "0002_roles")]

    operations = [
        grants_migration(
            {
                "quality_manager": [*VIEW_ALL, *WRITE_ALL, "complaints.assign_complaint"],
                "staff": [
                    *VIEW_ALL,
                    "complaints.change_complaint",
                    "complaints.add_complaintmessage",
                    "complaints.add_complaint",
                ],
                "auditor": VIEW_ALL,
            }
        )
    ]
