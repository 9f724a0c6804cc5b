"""The feedback text becomes personal data encrypted with the row's data key (DESIGN: free
text from the public). Existing text is encrypted in place; text of already erased rows is
dropped, as erasure promised."""

from django.db import migrations, models


def encrypt_existing(apps, schema_editor):
    from apps.core.crypto import new_wrapped_key, unwrap

    feedback_model = apps.get_model("feedback", "Feedback")
    for feedback in feedback_model.objects.iterator(chunk_size=500):
        if feedback.erased_at is not None and not feedback.data_key:
            feedback.text_ct = ""
        else:
            feedback.data_key = feedback.data_key or new_wrapped_key()
            feedback.text_ct = unwrap(feedback.data_key).encrypt(feedback.text.encode()).decode()
        feedback.save(update_fields=["data_key", "text_ct"])


class Migration(migrations.Migration):
    dependencies = [("feedback", "0002_role_permissions")]

    operations = [
        migrations.AddField(
            model_name="feedback",
            name="text_ct",
            field=models.TextField(default="", editable=False),
            preserve_default=False,
        ),
        migrations.RunPython(encrypt_existing, migrations.RunPython.noop, elidable=True),
        migrations.RemoveField(model_name="feedback", name="text"),
    ]
