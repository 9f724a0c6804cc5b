from django.db import migrations

from apps.accounts.roles import grants_migration

MODELS = ["customer", "contact", "product", "interaction", "followupaction"]


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial"), ("accounts", "0002_roles")]

    operations = [
        grants_migration(
            {
                "quality_manager": [
                    *(f"customers.{verb}_{model}" for model in MODELS for verb in ("view", "add", "change")),
                    "customers.erase_contact",
                    "customers.export_contact",
                ],
                "staff": [
                    *(
                        f"customers.{verb}_{model}"
                        for model in MODELS
                        if model != "product"
                        for verb in ("view", "add", "change")
                    ),
                    "customers.view_product",
                ],
                "auditor": [f"customers.view_{model}" for model in MODELS],
            }
        )
    ]
