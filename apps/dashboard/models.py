"""The dashboard reads other apps' records and keeps none of its own, but for one mark."""

from django.db import models


class DemoDatabase(models.Model):
    """The mark seed_demo leaves in the database it loads the demo organisation into (#23).

    At most one row (the primary key is always 1), written in the same transaction as the first
    load. seed_demo adds to a database only when this row is there or when the database holds no
    records at all: demo logins with a public password must never be created next to real data.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    seeded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="demo_database_single_row")]

    def __str__(self) -> str:
        return f"Demo database, seeded {self.seeded_at:%Y-%m-%d %H:%M}"
