from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("complaints", "0011_reference_returned_from_insert"),
    ]

    operations = [
        migrations.AddField(
            model_name="complaint",
            name="token_ct",
            field=models.TextField(blank=True, editable=False),
        ),
    ]
