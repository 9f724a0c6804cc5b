"""Everything the public writes into a complaint becomes personal data encrypted with the
complaint's data key (DESIGN: personal data). Existing text is encrypted in place; the text
of complaints whose complainant was already erased is dropped, as erasure promised."""

from django.db import migrations, models

from apps.accounts.roles import grants_migration

TEXT_FIELDS = (
    ("description", "description_ct"),
    ("desired_outcome", "desired_outcome_ct"),
    ("rating_comment", "rating_comment_ct"),
)


def encrypt_existing(apps, schema_editor):
    from apps.core.crypto import new_wrapped_key, unwrap

    complaint_model = apps.get_model("complaints", "Complaint")
    message_model = apps.get_model("complaints", "ComplaintMessage")
    for complaint in complaint_model.objects.iterator(chunk_size=500):
        erased = complaint.erased_at is not None and not complaint.data_key
        if not erased and not complaint.data_key:
            complaint.data_key = new_wrapped_key()
        fernet = None if erased else unwrap(complaint.data_key)

        def seal(value, fernet=fernet):
            return fernet.encrypt(value.encode()).decode() if value and fernet else ""

        for plain, cipher in TEXT_FIELDS:
            setattr(complaint, cipher, seal(getattr(complaint, plain)))
        complaint.save(update_fields=["data_key", *(cipher for _plain, cipher in TEXT_FIELDS)])
        for message in message_model.objects.filter(complaint_id=complaint.pk):
            message.body_ct = seal(message.body)
            message.save(update_fields=["body_ct"])


class Migration(migrations.Migration):
    dependencies = [("complaints", "0002_role_permissions")]

    operations = [
        migrations.AlterModelOptions(
            name="complaint",
            options={
                "ordering": ["-received_at", "-id"],
                "permissions": [
                    ("assign_complaint", "Can assign complaints"),
                    ("erase_complaint", "Can erase a complainant's personal data"),
                ],
                "verbose_name": "complaint",
                "verbose_name_plural": "complaints",
            },
        ),
        migrations.AddField(
            model_name="complaint",
            name="description_ct",
            field=models.TextField(default="", editable=False),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="complaint", name="desired_outcome_ct", field=models.TextField(blank=True, editable=False)
        ),
        migrations.AddField(
            model_name="complaint", name="rating_comment_ct", field=models.TextField(blank=True, editable=False)
        ),
        migrations.AddField(
            model_name="complaintmessage",
            name="body_ct",
            field=models.TextField(default="", editable=False),
            preserve_default=False,
        ),
        migrations.RunPython(encrypt_existing, migrations.RunPython.noop, elidable=True),
        migrations.RemoveField(model_name="complaint", name="description"),
        migrations.RemoveField(model_name="complaint", name="desired_outcome"),
        migrations.RemoveField(model_name="complaint", name="rating_comment"),
        migrations.RemoveField(model_name="complaintmessage", name="body"),
        grants_migration({"quality_manager": ["complaints.erase_complaint"]}),
    ]
