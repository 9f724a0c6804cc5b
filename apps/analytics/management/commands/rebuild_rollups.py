"""`manage.py rebuild_rollups`: recompute the dashboard roll-ups from the source tables.

Run it after a large bulk load (quicker than draining its markers batch by batch), or after
customers changed segment (the roll-ups attribute a record's segment when its day is
aggregated, and a segment change does not mark the customer's whole history).
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Recompute the analytics roll-up tables (surveys, complaints, feedback) from the source tables."

    def handle(self, *args, **options):
        from apps.analytics.models import ComplaintDaily, ComplaintMonthly, FeedbackDaily, FeedbackMonthly, SurveyDaily
        from apps.analytics.services import rebuild

        started = time.monotonic()
        rebuild()
        self.stdout.write(
            self.style.SUCCESS(
                f"Roll-ups rebuilt in {time.monotonic() - started:.1f} s: "
                f"{SurveyDaily.objects.count()} survey, {ComplaintDaily.objects.count()} complaint, "
                f"{FeedbackDaily.objects.count()} feedback rows; monthly {ComplaintMonthly.objects.count()} "
                f"complaint, {FeedbackMonthly.objects.count()} feedback rows."
            )
        )
