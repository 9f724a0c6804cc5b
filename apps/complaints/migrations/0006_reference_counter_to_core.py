"""ComplaintCounter folds into core.ReferenceCounter (one counter table for every yearly reference):
its years and last numbers move over under the prefix CMP."""

from django.db import migrations


def move(apps, schema_editor):
    old = apps.get_model("complaints", "ComplaintCounter")
    counter = apps.get_model("core", "ReferenceCounter")
    for row in old.objects.all():
        counter.objects.update_or_create(prefix="CMP", year=row.year, defaults={"last": row.last})


class Migration(migrations.Migration):
    dependencies = [("complaints", "0005_sla_policy_defaults"), ("core", "0003_reference_counter")]

    operations = [
        migrations.RunPython(move, migrations.RunPython.noop, elidable=True),
        migrations.DeleteModel(name="ComplaintCounter"),
    ]
