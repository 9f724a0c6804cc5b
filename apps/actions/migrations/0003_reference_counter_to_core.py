"""ActionReferenceCounter folds into core.ReferenceCounter (one counter table for every yearly reference):
its years and last numbers move over under the prefix ACT."""

from django.db import migrations


def move(apps, schema_editor):
    old = apps.get_model("actions", "ActionReferenceCounter")
    counter = apps.get_model("core", "ReferenceCounter")
    for row in old.objects.all():
        counter.objects.update_or_create(prefix="ACT", year=row.year, defaults={"last": row.last})


class Migration(migrations.Migration):
    dependencies = [("actions", "0002_role_permissions"), ("core", "0003_reference_counter")]

    operations = [
        migrations.RunPython(move, migrations.RunPython.noop, elidable=True),
        migrations.DeleteModel(name="ActionReferenceCounter"),
    ]
