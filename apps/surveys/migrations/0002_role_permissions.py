"""Surveys for every role: quality managers run campaigns and edit questionnaires, staff
read results (running campaigns or exporting is an individual duty a quality manager
grants, apps.accounts.capabilities), auditors read."""

from django.db import migrations

from apps.accounts.roles import grants_migration

VIEW = [
    "surveys.view_surveytemplate",
    "surveys.view_templateversion",
    "surveys.view_question",
    "surveys.view_campaign",
    "surveys.view_wave",
    "surveys.view_invitation",
    "surveys.view_delivery",
    "surveys.view_surveyoptout",
    "surveys.view_response",
    "surveys.view_answer",
]


class Migration(migrations.Migration):
    dependencies = [("surveys", "0001_initial"), ("accounts", "0002_roles")]

    operations = [
        grants_migration(
            {
                "quality_manager": [
                    *VIEW,
                    "surveys.add_surveytemplate",
                    "surveys.change_surveytemplate",
                    "surveys.manage_campaign",
                    "surveys.export_responses",
                ],
                "staff": VIEW,
                "auditor": VIEW,
            }
        )
    ]
