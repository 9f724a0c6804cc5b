"""Counts of the records that evidence each clause, for a period and month by month."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.conf import settings
from django.db.models import Count
from django.db.models.functions import TruncMonth
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from apps.core import clauses


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def months_between(start: date, end: date) -> list[date]:
    """First days of the months touched by [start, end)."""
    months = []
    month = start.replace(day=1)
    while month < end:
        months.append(month)
        month = _next_month(month)
    return months


def _aware(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


@dataclass
class EvidenceRow:
    evidence: clauses.Evidence
    total: int
    by_month: list[int]
    url: str


@dataclass
class ClauseRow:
    clause: str
    title: str
    rows: list[EvidenceRow] = field(default_factory=list)
    by_month: list[int] = field(default_factory=list)
    levels: list[str] = field(default_factory=list)  # "none" | "thin" | "ok", one per month

    @property
    def total(self) -> int:
        return sum(row.total for row in self.rows)

    @property
    def cells(self) -> list[tuple[int, str]]:
        return list(zip(self.by_month, self.levels, strict=True))

    @property
    def weak_months(self) -> int:
        """Months with no or thin evidence."""
        return len(self.levels) - self.levels.count("ok")

    @property
    def level(self) -> str:
        """The clause's standing over the whole period: no, thin or sufficient evidence."""
        if not self.total:
            return "none"
        return "thin" if "none" in self.levels or "thin" in self.levels else "ok"


def level_for(count: int) -> str:
    if count == 0:
        return "none"
    return "thin" if count < settings.EVIDENCE_THIN_BELOW else "ok"


def _url(evidence: clauses.Evidence) -> str:
    if not evidence.url_name:
        return ""
    try:
        return reverse(evidence.url_name)
    except NoReverseMatch:
        return ""


def clause_map(*, start: date, end: date) -> tuple[list[date], list[ClauseRow]]:
    """Every clause with the records that evidence it in [start, end), month by month, each
    record counted in the local month of its business date (clauses.Evidence.date_field).

    One grouped query per registered record type, whatever the data size; a clause with no
    registered record type is listed with no evidence, so a gap in the portal shows too.
    """
    months = months_between(start, end)
    index = {month: position for position, month in enumerate(months)}
    zone = timezone.get_current_timezone()
    by_clause = {clause: ClauseRow(clause=clause, title=str(title)) for clause, title in clauses.CLAUSES.items()}
    for evidence in clauses.all_evidence():
        counts = [0] * len(months)
        if evidence.dated_by_day():
            low, high, month = start, end, TruncMonth(evidence.date_field)
        else:
            low, high, month = _aware(start), _aware(end), TruncMonth(evidence.date_field, tzinfo=zone)
        rows = (
            evidence.queryset()
            .filter(**{f"{evidence.date_field}__gte": low, f"{evidence.date_field}__lt": high})
            .order_by()
            .annotate(month=month)
            .values("month")
            .annotate(n=Count("pk"))
        )
        for row in rows:
            counts[index[row["month"].date() if isinstance(row["month"], datetime) else row["month"]]] += row["n"]
        by_clause[evidence.clause].rows.append(
            EvidenceRow(evidence=evidence, total=sum(counts), by_month=counts, url=_url(evidence))
        )
    for row in by_clause.values():
        row.by_month = [sum(evidence.by_month[i] for evidence in row.rows) for i in range(len(months))]
        row.levels = [level_for(count) for count in row.by_month]
    return months, list(by_clause.values())
