"""Management reviews are the quality manager's to prepare and record; auditors read them."""

from django.db import migrations

from apps.accounts.roles import grants_migration

VIEW = [
    "reviews.view_managementreview",
    "reviews.view_reviewschedule",
    "reviews.view_reviewsnapshot",
    "reviews.view_reviewdecision",
    "reviews.view_reviewreport",
]


class Migration(migrations.Migration):
    dependencies = [("reviews", "0002_immutable_records"), ("accounts", "0002_roles")]

    operations = [
        grants_migration(
            {
                "quality_manager": [
                    *VIEW,
                    "reviews.add_managementreview",
                    "reviews.change_managementreview",
                    "reviews.add_reviewschedule",
                    "reviews.change_reviewschedule",
                    "reviews.add_reviewdecision",
                ],
                "auditor": VIEW,
            }
        )
    ]
