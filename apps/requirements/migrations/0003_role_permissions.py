"""Requirements for every role: quality managers review, staff write, auditors read."""

from django.db import migrations

from apps.accounts.roles import grants_migration

RECORDS = ["requirementversion", "requirementreview", "requirementchangerequest"]
VIEW_ALL = ["requirements.view_customerrequirement", *(f"requirements.view_{model}" for model in RECORDS)]
WRITE = ["requirements.add_customerrequirement", "requirements.change_customerrequirement"]


class Migration(migrations.Migration):
    dependencies = [("requirements", "0002_immutable_records"), ("accounts", "0002_roles")]

    operations = [
        grants_migration(
            {
                "quality_manager": [*VIEW_ALL, *WRITE, "requirements.review_customerrequirement"],
                "staff": [*VIEW_ALL, *WRITE],
                "auditor": VIEW_ALL,
            }
        )
    ]
