"""The monthly roll-up level, filled from the daily rows already there, so a database migrated
with roll-ups in place answers whole-month figures right away instead of after a rebuild."""

import django.db.models.deletion
from django.db import migrations, models

FILL = """
INSERT INTO analytics_complaintmonthly (month, product_id, segment, category_id, received, closed, closed_within_sla)
SELECT date_trunc('month', d.day::timestamp)::date, d.product_id, d.segment, d.category_id,
       sum(d.received), sum(d.closed), sum(d.closed_within_sla)
FROM analytics_complaintdaily d
GROUP BY 1, 2, 3, 4;
INSERT INTO analytics_feedbackmonthly (month, product_id, segment, sentiment, n)
SELECT date_trunc('month', d.day::timestamp)::date, d.product_id, d.segment, d.sentiment, sum(d.n)
FROM analytics_feedbackdaily d
GROUP BY 1, 2, 3, 4;
"""


class Migration(migrations.Migration):
    # 0002 already depends on the complaints and customers migrations the foreign keys need.
    dependencies = [
        ("analytics", "0002_dirty_triggers"),
    ]

    operations = [
        migrations.CreateModel(
            name="ComplaintMonthly",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("month", models.DateField()),
                ("segment", models.CharField(blank=True, max_length=80)),
                ("received", models.IntegerField()),
                ("closed", models.IntegerField()),
                ("closed_within_sla", models.IntegerField()),
                (
                    "category",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="complaints.complaintcategory",
                    ),
                ),
                (
                    "product",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="customers.product",
                    ),
                ),
            ],
            options={
                "verbose_name": "monthly complaint roll-up",
                "verbose_name_plural": "monthly complaint roll-ups",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("month", "product", "segment", "category"),
                        name="analytics_complaint_monthly_key",
                        nulls_distinct=False,
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="FeedbackMonthly",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("month", models.DateField()),
                ("segment", models.CharField(blank=True, max_length=80)),
                ("sentiment", models.CharField(blank=True, max_length=10)),
                ("n", models.IntegerField()),
                (
                    "product",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="customers.product",
                    ),
                ),
            ],
            options={
                "verbose_name": "monthly feedback roll-up",
                "verbose_name_plural": "monthly feedback roll-ups",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("month", "product", "segment", "sentiment"),
                        name="analytics_feedback_monthly_key",
                        nulls_distinct=False,
                    )
                ],
            },
        ),
        migrations.RunSQL(FILL, migrations.RunSQL.noop),
    ]
