"""FeedbackSequence folds into core.ReferenceCounter (one counter table for every yearly reference):
its years and last numbers move over under the prefix FB."""

from django.db import migrations


def move(apps, schema_editor):
    old = apps.get_model("feedback", "FeedbackSequence")
    counter = apps.get_model("core", "ReferenceCounter")
    for row in old.objects.all():
        counter.objects.update_or_create(prefix="FB", year=row.year, defaults={"last": row.last_number})


class Migration(migrations.Migration):
    dependencies = [("feedback", "0003_encrypt_text"), ("core", "0003_reference_counter")]

    operations = [
        migrations.RunPython(move, migrations.RunPython.noop, elidable=True),
        migrations.DeleteModel(name="FeedbackSequence"),
    ]
