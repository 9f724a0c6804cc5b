from django.db import migrations

from apps.accounts.roles import grants_migration


class Migration(migrations.Migration):
    """Quality managers see the failed e-mails page and resend or dismiss from it (#23); staff
    and auditors get neither (a resend is a quality manager's call about customer contact)."""

    dependencies = [("core", "0006_outbox_personal_data"), ("accounts", "0002_roles")]

    operations = [grants_migration({"quality_manager": ["core.view_outboundemail", "core.change_outboundemail"]})]
