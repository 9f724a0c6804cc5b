"""Feedback for every role: quality managers triage and convert, staff record (and change
what they own, an object rule in the model), auditors read."""

from django.db import migrations

from apps.accounts.roles import grants_migration

VIEW = ["feedback.view_feedback", "feedback.view_feedbackcategory"]


class Migration(migrations.Migration):
    dependencies = [("feedback", "0001_initial"), ("accounts", "0002_roles")]

    operations = [
        grants_migration(
            {
                "quality_manager": [
                    *VIEW,
                    "feedback.add_feedback",
                    "feedback.change_feedback",
                    "feedback.triage_feedback",
                    "feedback.convert_feedback",
                    "feedback.add_feedbackcategory",
                    "feedback.change_feedbackcategory",
                ],
                "staff": [*VIEW, "feedback.add_feedback", "feedback.change_feedback"],
                "auditor": VIEW,
            }
        )
    ]
