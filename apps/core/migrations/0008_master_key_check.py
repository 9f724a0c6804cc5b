from django.db import migrations, models


class Migration(migrations.Migration):
    """The key check values of the master keys (apps.core.keys): a new, empty table. Rows are
    written at the web server's first start and by rotate_encryption_keys, never here, so that
    migrate runs the same with or without the right FIELD_ENCRYPTION_KEY."""

    dependencies = [
        ("core", "0007_outbox_role_permissions"),
    ]

    operations = [
        migrations.CreateModel(
            name="MasterKeyCheck",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("fingerprint", models.CharField(max_length=64, unique=True)),
                ("token", models.TextField()),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "verbose_name": "master key check value",
                "ordering": ["created_at", "id"],
            },
        ),
    ]
