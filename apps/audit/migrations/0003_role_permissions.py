from django.db import migrations

from apps.accounts.roles import grant_permissions, revoke_permissions

GRANTS = {
    "quality_manager": ["audit.view_auditentry"],
    "auditor": ["audit.view_auditentry"],
}


def forwards(apps, schema_editor):
    grant_permissions(apps, GRANTS)


def backwards(apps, schema_editor):
    revoke_permissions(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only"), ("accounts", "0002_roles")]

    operations = [migrations.RunPython(forwards, backwards)]
