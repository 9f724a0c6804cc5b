from django.db import migrations

from apps.accounts.roles import grants_migration


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only"), ("accounts", "0002_roles")]

    operations = [
        grants_migration({"quality_manager": ["audit.view_auditentry"], "auditor": ["audit.view_auditentry"]})
    ]
