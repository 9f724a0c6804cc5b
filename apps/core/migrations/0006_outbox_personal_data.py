"""The outbox keeps recipient, subject and bodies only while an e-mail waits to be sent, and
encrypted (#22 §7). Rows already sent or given up on lose them now, as sending does from here
on; rows still waiting are encrypted with a data key of their own. They were queued before
e-mails named the record they concern, so an erasure cannot find them: they are sent within
minutes of the deployment, and dropped then.

PostgreSQL keeps the dropped columns' bytes in the table's pages until they are rewritten:
run `VACUUM FULL core_outboundemail` after migrating (it cannot run inside a migration).
"""

import django.db.models.deletion
from django.db import migrations, models
from django.utils import timezone

UNSENT = ("queued", "sending")
CONTENT = (("to", "to_ct"), ("subject", "subject_ct"), ("body", "body_ct"), ("html_body", "html_body_ct"))


def seal_existing(apps, schema_editor):
    from apps.core.crypto import new_data_key

    outbound_email = apps.get_model("core", "OutboundEmail")
    outbound_email.objects.exclude(status__in=UNSENT).update(erased_at=timezone.now())
    for email in outbound_email.objects.filter(status__in=UNSENT).iterator(chunk_size=500):
        fernet, email.data_key = new_data_key()
        for plain, cipher in CONTENT:
            value = getattr(email, plain)
            setattr(email, cipher, fernet.encrypt(value.encode()).decode() if value else "")
        email.save(update_fields=["data_key", *(cipher for _plain, cipher in CONTENT)])


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("core", "0005_next_reference_function"),
    ]

    operations = [
        migrations.AddField(
            model_name="outboundemail",
            name="body_ct",
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.AddField(
            model_name="outboundemail",
            name="concerns_id",
            field=models.PositiveBigIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="outboundemail",
            name="concerns_type",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="contenttypes.contenttype",
            ),
        ),
        migrations.AddField(
            model_name="outboundemail",
            name="data_key",
            field=models.TextField(blank=True, editable=False, help_text="Data key wrapped by the master key."),
        ),
        migrations.AddField(
            model_name="outboundemail",
            name="erased_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="outboundemail",
            name="html_body_ct",
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.AddField(
            model_name="outboundemail",
            name="subject_ct",
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.AddField(
            model_name="outboundemail",
            name="template",
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddField(
            model_name="outboundemail",
            name="to_ct",
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.AlterField(
            model_name="outboundemail",
            name="status",
            field=models.CharField(
                choices=[
                    ("queued", "Queued"),
                    ("sending", "Sending"),
                    ("sent", "Sent"),
                    ("failed", "Failed"),
                    ("cancelled", "Cancelled"),
                ],
                db_index=True,
                default="queued",
                max_length=10,
            ),
        ),
        migrations.RunPython(seal_existing, migrations.RunPython.noop, elidable=True),
        migrations.RemoveField(model_name="outboundemail", name="body"),
        migrations.RemoveField(model_name="outboundemail", name="html_body"),
        migrations.RemoveField(model_name="outboundemail", name="subject"),
        migrations.RemoveField(model_name="outboundemail", name="to"),
        migrations.AddIndex(
            model_name="outboundemail",
            index=models.Index(fields=["concerns_type", "concerns_id"], name="outbox_concerns_idx"),
        ),
        migrations.AddConstraint(
            model_name="outboundemail",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("concerns_id__isnull", True), ("concerns_type__isnull", True)),
                    models.Q(("concerns_id__isnull", False), ("concerns_type__isnull", False)),
                    _connector="OR",
                ),
                name="outbox_concerns_complete",
            ),
        ),
    ]
