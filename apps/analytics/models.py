"""Roll-up tables (ISO 9001 9.1.3): per local day, product, customer segment and the
dimensions each figure needs, so the dashboard and the KPIs read a few thousand rows instead of millions.

Written only by apps.analytics.services (refresh() and rebuild()), always with INSERT … SELECT
… GROUP BY over the source tables, so every figure equals the raw aggregate. `day` is the local
date in settings.TIME_ZONE; `segment` is the customer's segment at refresh time ('' without a
customer). Rows of a product that no longer sells still count, so the product FK is nullable
but never a placeholder id.

ComplaintMonthly and FeedbackMonthly are the same figures per local month without the channel,
summed from the daily tables (not from the sources) inside the transaction that wrote those,
so the dashboard reads a few rows per month for whole-month periods. ComplaintMonthlyTotal
and FeedbackMonthlyTotal sum those again over products and segments, for the dashboard as
most people open it (whole months, no product or segment filter): a few dozen rows.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class SurveyDaily(models.Model):
    """Scored survey answers (NPS, CSAT, CES) of one day, product, segment and kind."""

    day = models.DateField()
    product = models.ForeignKey("customers.Product", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    segment = models.CharField(max_length=80, blank=True)
    kind = models.CharField(max_length=10)
    n = models.IntegerField()
    score_sum = models.BigIntegerField()
    promoters = models.IntegerField()
    detractors = models.IntegerField()
    satisfied = models.IntegerField()

    class Meta:
        verbose_name = _("daily survey roll-up")
        verbose_name_plural = _("daily survey roll-ups")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "product", "segment", "kind"], name="analytics_survey_daily_key", nulls_distinct=False
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.kind} {self.product_id}/{self.segment}"


class ComplaintDaily(models.Model):
    """Complaints received and closed on one day, per product, segment, category and channel.

    `received` counts by the local day of `received_at`; `closed` counts complaints whose
    status is closed by the day of `closed_at` (a reopened complaint has no `closed_at` and
    leaves its old close day). `closed_within_sla` counts the closed ones that met every
    due date they had: for each of acknowledge, respond and close, either the due date is
    empty or the stage's timestamp is set and not later than it: the rule of
    ComplaintQuerySet.closed_within_sla(), so a dashboard figure and its list agree.
    """

    day = models.DateField()
    product = models.ForeignKey("customers.Product", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    segment = models.CharField(max_length=80, blank=True)
    category = models.ForeignKey(
        "complaints.ComplaintCategory",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    channel = models.CharField(max_length=20)
    received = models.IntegerField()
    closed = models.IntegerField()
    closed_within_sla = models.IntegerField()

    class Meta:
        verbose_name = _("daily complaint roll-up")
        verbose_name_plural = _("daily complaint roll-ups")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "product", "segment", "category", "channel"],
                name="analytics_complaint_daily_key",
                nulls_distinct=False,
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.product_id}/{self.segment}/{self.category_id}/{self.channel}"


class FeedbackDaily(models.Model):
    """Feedback recorded on one day (local day of `created_at`) per product, segment, channel,
    category and sentiment ('' while unrated)."""

    day = models.DateField()
    product = models.ForeignKey("customers.Product", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    segment = models.CharField(max_length=80, blank=True)
    channel = models.CharField(max_length=20)
    category = models.ForeignKey(
        "feedback.FeedbackCategory",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    sentiment = models.CharField(max_length=10, blank=True)
    n = models.IntegerField()

    class Meta:
        verbose_name = _("daily feedback roll-up")
        verbose_name_plural = _("daily feedback roll-ups")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "product", "segment", "channel", "category", "sentiment"],
                name="analytics_feedback_daily_key",
                nulls_distinct=False,
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.product_id}/{self.segment}/{self.channel}/{self.sentiment}"


class ComplaintMonthly(models.Model):
    """ComplaintDaily summed per local month, product, segment and category (channel dropped).

    Never aggregated from the sources: refresh() and rebuild() recompute the months they
    touched from ComplaintDaily in the same transaction, so the two levels always agree. The
    dashboard reads it for whole-month periods without a channel filter.
    """

    month = models.DateField()
    product = models.ForeignKey("customers.Product", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    segment = models.CharField(max_length=80, blank=True)
    category = models.ForeignKey(
        "complaints.ComplaintCategory",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    received = models.IntegerField()
    closed = models.IntegerField()
    closed_within_sla = models.IntegerField()

    class Meta:
        verbose_name = _("monthly complaint roll-up")
        verbose_name_plural = _("monthly complaint roll-ups")
        constraints = [
            models.UniqueConstraint(
                fields=["month", "product", "segment", "category"],
                name="analytics_complaint_monthly_key",
                nulls_distinct=False,
            )
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.product_id}/{self.segment}/{self.category_id}"


class ComplaintMonthlyTotal(models.Model):
    """ComplaintMonthly summed per month and category over every product and segment, kept in
    step with it the same way (recomputed from it in the transaction that wrote it)."""

    month = models.DateField()
    category = models.ForeignKey(
        "complaints.ComplaintCategory",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    received = models.IntegerField()
    closed = models.IntegerField()
    closed_within_sla = models.IntegerField()

    class Meta:
        verbose_name = _("monthly complaint total")
        verbose_name_plural = _("monthly complaint totals")
        constraints = [
            models.UniqueConstraint(
                fields=["month", "category"], name="analytics_complaint_total_key", nulls_distinct=False
            )
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.category_id}"


class FeedbackMonthly(models.Model):
    """FeedbackDaily summed per local month, product, segment and sentiment (channel and
    category dropped); kept in step with it like ComplaintMonthly."""

    month = models.DateField()
    product = models.ForeignKey("customers.Product", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    segment = models.CharField(max_length=80, blank=True)
    sentiment = models.CharField(max_length=10, blank=True)
    n = models.IntegerField()

    class Meta:
        verbose_name = _("monthly feedback roll-up")
        verbose_name_plural = _("monthly feedback roll-ups")
        constraints = [
            models.UniqueConstraint(
                fields=["month", "product", "segment", "sentiment"],
                name="analytics_feedback_monthly_key",
                nulls_distinct=False,
            )
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.product_id}/{self.segment}/{self.sentiment}"


class Dirty(models.Model):
    """A marker: rows of `source` whose deciding timestamp falls in the UTC `hour` changed.

    Written only by the PostgreSQL triggers of migration 0002 and consumed by refresh().
    Deliberately without a unique key: concurrent writers would otherwise wait on each
    other's uncommitted marker; duplicates cost one extra re-aggregation of a day at most.
    """

    id = models.BigAutoField(primary_key=True)
    source = models.TextField()
    hour = models.DateTimeField()

    class Meta:
        db_table = "analytics_dirty"
        verbose_name = _("roll-up marker")
        verbose_name_plural = _("roll-up markers")

    def __str__(self) -> str:
        return f"{self.source} {self.hour:%Y-%m-%d %H}h"


class RefreshState(models.Model):
    """One row (id 1): when the roll-ups were last brought up to date."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    refreshed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("roll-up state")
        verbose_name_plural = _("roll-up state")
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="analytics_refresh_state_single")]

    def __str__(self) -> str:
        return f"Refreshed {self.refreshed_at:%Y-%m-%d %H:%M}"


class FeedbackMonthlyTotal(models.Model):
    """FeedbackMonthly summed per month and sentiment over every product and segment."""

    month = models.DateField()
    sentiment = models.CharField(max_length=10, blank=True)
    n = models.IntegerField()

    class Meta:
        verbose_name = _("monthly feedback total")
        verbose_name_plural = _("monthly feedback totals")
        constraints = [
            models.UniqueConstraint(
                fields=["month", "sentiment"], name="analytics_feedback_total_key", nulls_distinct=False
            )
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.sentiment}"


class MonthlyExposure(models.Model):
    """The active customers of one closed local month: the exposure of the complaint u-chart.

    The portal keeps no customer history (a customer is active or not, without dates), so the
    count is taken when the month closes (the beat task "analytics.record_monthly_exposure"
    just after midnight on the 1st) or, for a month that closed before this table existed,
    the first time a figure needs it; either way from the customers active at that moment.
    A row is never rewritten (INSERT … ON CONFLICT DO NOTHING), so customers added or
    deactivated later change only the months still to close, never a closed month's rate.
    `by_segment` holds the same count per customer segment ('' for none) for the segment filter.
    """

    month = models.DateField(unique=True)
    active_customers = models.IntegerField()
    by_segment = models.JSONField(default=dict)
    recorded_at = models.DateTimeField()

    class Meta:
        verbose_name = _("monthly customer exposure")
        verbose_name_plural = _("monthly customer exposure")
        constraints = [
            models.CheckConstraint(condition=models.Q(month__day=1), name="analytics_exposure_first_of_month"),
            models.CheckConstraint(condition=models.Q(active_customers__gte=0), name="analytics_exposure_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}: {self.active_customers}"

    def for_segment(self, segment: str | None) -> int:
        """The month's active customers in `segment` (None: all of them)."""
        if segment is None:
            return self.active_customers
        return int(self.by_segment.get(segment, 0))
