"""The SLA policy moves from code into rows quality managers edit: seed the defaults (what the
portal used before) and grant the rows to the roles. Idempotent, so tests can replay it."""

from django.db import migrations

from apps.accounts.roles import grants_migration

DEFAULTS = {
    "critical": (2, 4, 2, 5),
    "high": (4, 8, 5, 10),
    "medium": (8, 16, 10, 20),
    "low": (16, 24, 15, 30),
}


def seed(apps, schema_editor):
    policy_model = apps.get_model("complaints", "SlaPolicy")
    for severity, (ack, assess, respond, close) in DEFAULTS.items():
        policy_model.objects.get_or_create(
            severity=severity,
            defaults={"acknowledge_hours": ack, "assess_hours": assess, "respond_days": respond, "close_days": close},
        )


class Migration(migrations.Migration):
    dependencies = [("complaints", "0004_sla_policy")]

    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
        grants_migration(
            {
                "quality_manager": ["complaints.view_slapolicy", "complaints.change_slapolicy"],
                "staff": ["complaints.view_slapolicy"],
                "auditor": ["complaints.view_slapolicy"],
            }
        ),
    ]
