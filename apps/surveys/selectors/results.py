"""Survey results, computed in the database: every figure comes from an aggregate query over
the indexed `Answer` table (or `Invitation` for response rates), never from answer rows in
Python. Breakdowns (months, waves, segments, products) count answers per (group, kind, score)
in one GROUP BY and derive each group's figures from those few counts (`scores_from_histogram`).

- NPS: % promoters (9-10) minus % detractors (0-6). Its 95% interval is the normal
  approximation on the per-answer scores +1 / 0 / -1: NPS ± 1.96 · sqrt(var / n) with
  var = (promoters + detractors) / n - (NPS / 100)², in points, clipped to -100..100.
- CSAT: % of answers 4-5, with the 95% Wilson score interval (sound for small n and near 0/100%).
- CES: mean of 1-7 (higher is easier), ± 1.96 · sample standard deviation / sqrt(n).
- Response rate: responded / sent invitations (sent = `sent_at` set).

Each figure carries `low_confidence` ("Few responses") when its 95% interval is wider than a
fifth of the scale (WIDE_INTERVAL: 40 NPS points, 20 CSAT percentage points, 1.2 CES points),
so nobody reads noise as a trend. The width decides, not a count of answers: 65 answers that
agree are a firm figure, 65 that scatter may not be. For this test only, the spread is never
taken below that of a sample where one answer in n differs (variance 1/n), so a handful of
identical answers, whose normal-approximation interval is zero wide, is not read as certainty;
a CES from a single answer has no interval and is flagged. Results are plain frozen dataclasses.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.paginator import Page, Paginator
from django.db.models import Avg, Count, DateTimeField, F, Func, IntegerField, Max, Min, Prefetch, Q, StdDev, Value
from django.utils import timezone

from apps.core.crypto import ErasedError, InvalidToken
from apps.surveys.models import (
    CHOICE_KINDS,
    SCALES,
    Answer,
    Campaign,
    Invitation,
    Question,
    QuestionKind,
    Response,
    SurveyOptOut,
    Wave,
)

Z = 1.959963984540054  # two-sided 95% normal quantile
NPS, CSAT, CES = QuestionKind.NPS, QuestionKind.CSAT, QuestionKind.CES


# --- filters ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultFilters:
    """What the results cover. Dates are days in the organisation's time zone, both inclusive:
    answers by when they were submitted, the response rate by when invitations were sent (an
    answer to an invitation sent before the period counts in the scores, not in the rate)."""

    campaign_id: int | None = None
    wave_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    segment: str = ""
    product_id: int | None = None

    def _bounds(self) -> tuple[datetime | None, datetime | None]:
        tz = timezone.get_default_timezone()
        start = datetime.combine(self.date_from, time.min, tzinfo=tz) if self.date_from else None
        end = datetime.combine(self.date_to + timedelta(days=1), time.min, tzinfo=tz) if self.date_to else None
        return start, end

    def q(self, *, at: str, wave: str, customer: str, product: str) -> Q:
        """The filters as a Q over one model, given where that model keeps each value."""
        q = Q()
        if self.campaign_id:
            q &= Q(campaign_id=self.campaign_id)
        if self.wave_id:
            q &= Q(**{wave: self.wave_id})
        start, end = self._bounds()
        if start:
            q &= Q(**{f"{at}__gte": start})
        if end:
            q &= Q(**{f"{at}__lt": end})
        if self.segment:
            q &= Q(**{f"{customer}__segment": self.segment})
        if self.product_id:
            q &= Q(**{product: self.product_id})
        return q

    def answers(self) -> Q:
        return self.q(
            at="submitted_at",
            wave="response__wave_id",
            customer="response__customer",
            product="response__product_id",
        )

    def responses(self) -> Q:
        return self.q(at="submitted_at", wave="wave_id", customer="customer", product="product_id")

    def invitations(self) -> Q:
        return self.q(at="sent_at", wave="wave_id", customer="customer", product="product_id")


# --- figures --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def _min_responses() -> int:
    return settings.SURVEY_MIN_RESPONSES


# A fifth of each scale's range (NPS -100..100, CSAT 0..100 %, CES 1..7): an interval wider than
# this cannot tell a good result from a middling one.
WIDE_INTERVAL = {NPS: 40.0, CSAT: 20.0, CES: 1.2}


def _wide(kind: str, *, half_width: float | None) -> bool:
    return half_width is None or 2 * half_width > WIDE_INTERVAL[kind]


def _cautious_half(*, variance: float, n: int, scale: float = 1.0) -> float:
    """The normal-approximation half width with the variance floored at 1/n (see the module doc)."""
    return scale * Z * math.sqrt(max(variance, 1 / n) / n)


@dataclass(frozen=True)
class Nps:
    n: int
    promoters: int
    passives: int
    detractors: int
    score: float | None
    ci: Interval | None
    low_confidence: bool

    @property
    def promoters_pct(self) -> float | None:
        return 100 * self.promoters / self.n if self.n else None

    @property
    def passives_pct(self) -> float | None:
        return 100 * self.passives / self.n if self.n else None

    @property
    def detractors_pct(self) -> float | None:
        return 100 * self.detractors / self.n if self.n else None


@dataclass(frozen=True)
class Csat:
    n: int
    satisfied: int
    percent: float | None
    ci: Interval | None
    low_confidence: bool


@dataclass(frozen=True)
class Ces:
    n: int
    mean: float | None
    ci: Interval | None
    low_confidence: bool


@dataclass(frozen=True)
class Scores:
    """NPS, CSAT and CES of one scope or group (each with its own number of answers `n`)."""

    nps: Nps
    csat: Csat
    ces: Ces

    @property
    def low_confidence(self) -> bool:
        return any(f.low_confidence for f in (self.nps, self.csat, self.ces) if f.n)


def nps_figure(*, promoters: int, detractors: int, n: int) -> Nps:
    if not n:
        return Nps(0, 0, 0, 0, None, None, False)
    mean = (promoters - detractors) / n
    variance = max((promoters + detractors) / n - mean**2, 0.0)
    half = Z * math.sqrt(variance / n)
    ci = Interval(max(-100.0, 100 * (mean - half)), min(100.0, 100 * (mean + half)))
    wide = _wide(NPS, half_width=_cautious_half(variance=variance, n=n, scale=100))
    return Nps(n, promoters, n - promoters - detractors, detractors, 100 * mean, ci, wide)


def csat_figure(*, satisfied: int, n: int) -> Csat:
    if not n:
        return Csat(0, 0, None, None, False)
    p = satisfied / n
    denominator = 1 + Z**2 / n
    centre = (p + Z**2 / (2 * n)) / denominator
    half = Z * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2)) / denominator
    ci = Interval(100 * max(0.0, centre - half), 100 * min(1.0, centre + half))
    return Csat(n, satisfied, 100 * p, ci, _wide(CSAT, half_width=(ci.high - ci.low) / 2))


def ces_figure(*, mean: float | None, sd: float | None, n: int) -> Ces:
    if not n or mean is None:
        return Ces(0, None, None, False)
    ci = None
    cautious = None
    if n >= 2 and sd is not None:
        half = Z * sd / math.sqrt(n)
        ci = Interval(mean - half, mean + half)
        cautious = _cautious_half(variance=float(sd) ** 2, n=n)
    return Ces(n, float(mean), ci, _wide(CES, half_width=cautious))


def _score_aggregates() -> dict[str, Any]:
    # Plain conditional counts only: a COUNT(DISTINCT response_id) here made the aggregate
    # three times slower on a million answers (it sorts), for a number the cards do not need.
    return {
        "nps_n": Count("id", filter=Q(kind=NPS)),
        "nps_promoters": Count("id", filter=Q(kind=NPS, score__gte=9)),
        "nps_detractors": Count("id", filter=Q(kind=NPS, score__lte=6)),
        "csat_n": Count("id", filter=Q(kind=CSAT)),
        "csat_satisfied": Count("id", filter=Q(kind=CSAT, score__gte=4)),
        "ces_n": Count("id", filter=Q(kind=CES)),
        "ces_mean": Avg("score", filter=Q(kind=CES)),
        "ces_sd": StdDev("score", filter=Q(kind=CES), sample=True),
    }


def _scores(row: dict[str, Any]) -> Scores:
    return Scores(
        nps=nps_figure(promoters=row["nps_promoters"], detractors=row["nps_detractors"], n=row["nps_n"]),
        csat=csat_figure(satisfied=row["csat_satisfied"], n=row["csat_n"]),
        ces=ces_figure(mean=row["ces_mean"], sd=row["ces_sd"], n=row["ces_n"]),
    )


def _scored(filters: ResultFilters):
    return Answer.objects.filter(filters.answers(), kind__in=list(SCALES)).order_by()


def scores(filters: ResultFilters) -> Scores:
    """NPS, CSAT and CES for the filters: one query. No `kind IN (...)` here: the FILTER clauses
    already pick each kind, and the extra test per row was measurable on a million answers."""
    return _scores(Answer.objects.filter(filters.answers()).order_by().aggregate(**_score_aggregates()))


@dataclass(frozen=True)
class ResponseRate:
    """The one definition of a response rate: responded / sent invitations (everything else that
    shows a rate, the API included, builds one of these)."""

    sent: int
    responded: int

    @property
    def rate(self) -> float | None:
        """0..1, None when nothing was sent."""
        return self.responded / self.sent if self.sent else None

    @property
    def percent(self) -> float | None:
        """0..100, None when nothing was sent."""
        return None if self.rate is None else 100 * self.rate


def response_rate(filters: ResultFilters) -> ResponseRate:
    row = (
        Invitation.objects.filter(filters.invitations(), sent_at__isnull=False)
        .order_by()
        .aggregate(sent=Count("id"), responded=Count("id", filter=Q(responded_at__isnull=False)))
    )
    return ResponseRate(sent=row["sent"], responded=row["responded"])


# --- distributions and choices ------------------------------------------------------------------------


@dataclass(frozen=True)
class Bucket:
    value: int
    count: int
    percent: float


@dataclass(frozen=True)
class Distribution:
    kind: str
    label: str
    n: int
    buckets: list[Bucket]


def distributions(filters: ResultFilters) -> list[Distribution]:
    """How many answers gave each score, per scored kind, every value of the scale listed: one query."""
    counts: dict[tuple[str, int], int] = {
        (row["kind"], row["score"]): row["n"]
        for row in _scored(filters).values("kind", "score").annotate(n=Count("id"))
    }
    result = []
    for kind, (low, high) in SCALES.items():
        n = sum(count for (k, _score), count in counts.items() if k == kind)
        buckets = [
            Bucket(value, counts.get((kind, value), 0), 100 * counts.get((kind, value), 0) / n if n else 0.0)
            for value in range(low, high + 1)
        ]
        result.append(Distribution(kind=kind, label=QuestionKind(kind).label, n=n, buckets=buckets))
    return result


@dataclass(frozen=True)
class ChoiceCount:
    choice: str
    count: int
    percent: float


@dataclass(frozen=True)
class ChoiceResult:
    question_id: int
    text: str
    kind: str
    answered: int
    counts: list[ChoiceCount]


def choice_results(filters: ResultFilters, campaign: Campaign) -> list[ChoiceResult]:
    """Answers per choice of each choice question of the campaign's questionnaire: two queries
    (the questions, then one aggregate with a conditional count per question and choice)."""
    questions = list(
        Question.objects.filter(version_id=campaign.template_version_id, kind__in=CHOICE_KINDS).order_by("position")
    )
    if not questions:
        return []
    aggregates: dict[str, Any] = {}
    for question in questions:
        aggregates[f"q{question.pk}"] = Count("id", filter=Q(question_id=question.pk))
        for index, choice in enumerate(question.choices):
            aggregates[f"q{question.pk}_{index}"] = Count(
                "id", filter=Q(question_id=question.pk, choices__contains=[choice])
            )
    row = Answer.objects.filter(filters.answers(), kind__in=CHOICE_KINDS).order_by().aggregate(**aggregates)
    results = []
    for question in questions:
        answered = row[f"q{question.pk}"]
        counts = [
            ChoiceCount(
                choice,
                row[f"q{question.pk}_{index}"],
                100 * row[f"q{question.pk}_{index}"] / answered if answered else 0.0,
            )
            for index, choice in enumerate(question.choices)
        ]
        results.append(ChoiceResult(question.pk, question.text, question.kind, answered, counts))
    return results


# --- groups: months, waves, segments, products -----------------------------------------------------------


@dataclass(frozen=True)
class GroupScores:
    key: Any
    label: str
    scores: Scores


def scores_from_histogram(counts: Mapping[tuple[str, int], int]) -> Scores:
    """NPS, CSAT and CES from {(kind, score): number of answers}: exact, since every figure
    (counts, mean, sample standard deviation) follows from how often each score was given."""

    def of(kind: str) -> dict[int, int]:
        return {score: n for (k, score), n in counts.items() if k == kind and n}

    nps, csat, ces = of(NPS), of(CSAT), of(CES)
    ces_n = sum(ces.values())
    mean = sum(score * n for score, n in ces.items()) / ces_n if ces_n else None
    sd = None
    if ces_n >= 2 and mean is not None:
        squares = sum(n * (score - mean) ** 2 for score, n in ces.items())
        sd = math.sqrt(squares / (ces_n - 1))
    return Scores(
        nps=nps_figure(
            promoters=sum(n for score, n in nps.items() if score >= 9),
            detractors=sum(n for score, n in nps.items() if score <= 6),
            n=sum(nps.values()),
        ),
        csat=csat_figure(satisfied=sum(n for score, n in csat.items() if score >= 4), n=sum(csat.values())),
        ces=ces_figure(mean=mean, sd=sd, n=ces_n),
    )


def _grouped(queryset, *group: str) -> dict[tuple, Scores]:
    """Scores per group from one GROUP BY (group, kind, score) count: a few rows per group come
    back, never answers. Plain counts only, which keeps it quick on a million answers."""
    histograms: dict[tuple, dict[tuple[str, int], int]] = defaultdict(dict)
    for row in queryset.values(*group, "kind", "score").annotate(n=Count("id")).order_by():
        histograms[tuple(row[name] for name in group)][(row["kind"], row["score"])] = row["n"]
    return {key: scores_from_histogram(histogram) for key, histogram in histograms.items()}


def _month_starts(first: datetime, last: datetime) -> list[datetime]:
    """The first instant of every month (organisation's time zone) from `first`'s to `last`'s."""
    tz = timezone.get_default_timezone()
    first, last = first.astimezone(tz), last.astimezone(tz)
    year, month = first.year, first.month
    starts = []
    while (year, month) <= (last.year, last.month):
        starts.append(datetime(year, month, 1, tzinfo=tz))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return starts


def trend(filters: ResultFilters) -> list[GroupScores]:
    """Scores per calendar month (organisation's time zone), oldest first: two queries.

    Months are found by `width_bucket` over the month starts (a binary search on timestamps)
    rather than by truncating each answer's time in the organisation's time zone, which
    converts every row and took seconds on a million answers.
    """
    scored = _scored(filters)
    span = scored.aggregate(first=Min("submitted_at"), last=Max("submitted_at"))
    if span["first"] is None:
        return []
    starts = _month_starts(span["first"], span["last"])
    bucket = Func(
        F("submitted_at"),
        Value(starts, output_field=ArrayField(DateTimeField())),
        function="width_bucket",
        output_field=IntegerField(),
    )
    months = _grouped(scored.annotate(month=bucket), "month")
    return [
        GroupScores(starts[index - 1].date(), starts[index - 1].strftime("%Y-%m"), value)
        for (index,), value in sorted(months.items())
    ]


def by_segment(filters: ResultFilters) -> list[GroupScores]:
    """Scores per customer segment (customers without one grouped as ""): one query."""
    segments = _grouped(_scored(filters).annotate(segment=F("response__customer__segment")), "segment")
    return [GroupScores(segment, segment, value) for (segment,), value in sorted(segments.items())]


def by_product(filters: ResultFilters) -> list[GroupScores]:
    """Scores per product of the response (responses without one grouped under None): one query."""
    products = _grouped(
        _scored(filters).annotate(product=F("response__product_id"), product_name=F("response__product__name")),
        "product",
        "product_name",
    )
    ordered = sorted(products.items(), key=lambda item: (item[0][1] is None, item[0][1] or "", item[0][0] or 0))
    return [GroupScores(product, name or "", value) for (product, name), value in ordered]


@dataclass(frozen=True)
class WaveResult:
    wave_id: int
    number: int
    scheduled_for: datetime
    status: str
    rate: ResponseRate
    scores: Scores
    nps_change: float | None  # NPS points against the previous wave
    csat_change: float | None  # percentage points against the previous wave
    ces_change: float | None


def waves(filters: ResultFilters) -> list[WaveResult]:
    """Wave over wave for one campaign, oldest first: three queries (waves, rates, scores)."""
    if not filters.campaign_id:
        return []
    wave_rows = list(Wave.objects.filter(campaign_id=filters.campaign_id).order_by("number"))
    unfiltered_wave = replace(filters, wave_id=None)
    rates = {
        row["wave_id"]: ResponseRate(row["sent"], row["responded"])
        for row in Invitation.objects.filter(unfiltered_wave.invitations(), sent_at__isnull=False)
        .values("wave_id")
        .annotate(sent=Count("id"), responded=Count("id", filter=Q(responded_at__isnull=False)))
        .order_by()
    }
    score_rows = {
        wave_id: value
        for (wave_id,), value in _grouped(
            _scored(unfiltered_wave).annotate(wave=F("response__wave_id")), "wave"
        ).items()
    }
    empty = scores_from_histogram({})
    result: list[WaveResult] = []
    previous: Scores | None = None
    for wave in wave_rows:
        current = score_rows.get(wave.pk, empty)
        result.append(
            WaveResult(
                wave_id=wave.pk,
                number=wave.number,
                scheduled_for=wave.scheduled_for,
                status=wave.status,
                rate=rates.get(wave.pk, ResponseRate(0, 0)),
                scores=current,
                nps_change=_change(previous and previous.nps.score, current.nps.score),
                csat_change=_change(previous and previous.csat.percent, current.csat.percent),
                ces_change=_change(previous and previous.ces.mean, current.ces.mean),
            )
        )
        previous = current
    return result


def _change(before: float | None, after: float | None) -> float | None:
    if before is None or after is None:
        return None
    return after - before


# --- everything for a page ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Results:
    filters: ResultFilters
    min_responses: int
    responses: int
    rate: ResponseRate
    scores: Scores
    distributions: list[Distribution]
    trend: list[GroupScores]
    segments: list[GroupScores]
    products: list[GroupScores]
    choices: list[ChoiceResult] = field(default_factory=list)
    waves: list[WaveResult] = field(default_factory=list)


def results(filters: ResultFilters, *, campaign: Campaign | None = None) -> Results:
    """All figures for the filters (across campaigns unless `campaign_id`); choice answers and
    wave-over-wave only for one campaign (pass it as `campaign` when already loaded). About a
    dozen aggregate queries, whatever the volume."""
    if filters.campaign_id and (campaign is None or campaign.pk != filters.campaign_id):
        campaign = Campaign.objects.get(pk=filters.campaign_id)
    elif not filters.campaign_id:
        campaign = None
    return Results(
        filters=filters,
        min_responses=_min_responses(),
        responses=Response.objects.filter(filters.responses()).order_by().count(),
        rate=response_rate(filters),
        scores=scores(filters),
        distributions=distributions(filters),
        trend=trend(filters),
        segments=by_segment(filters),
        products=by_product(filters),
        choices=choice_results(filters, campaign) if campaign else [],
        waves=waves(filters) if campaign else [],
    )


def campaign_results(*, campaign_id: int, filters: ResultFilters | None = None) -> Results:
    return results(replace(filters or ResultFilters(), campaign_id=campaign_id))


def wave_results(*, wave_id: int) -> Results:
    wave = Wave.objects.get(pk=wave_id)
    return results(ResultFilters(campaign_id=wave.campaign_id, wave_id=wave.pk))


# --- free text ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextAnswer:
    response_id: int
    submitted_at: datetime
    campaign_name: str
    customer_name: str
    question: str
    text: str


@dataclass(frozen=True)
class TextAnswerPage:
    items: list[TextAnswer]
    page: Page


def decrypted_texts(response: Response) -> dict[str, str]:
    """{question id: text} of a response's free-text answers; empty once the respondent was erased."""
    try:
        raw = response.comments_json
    except (ErasedError, InvalidToken):
        return {}
    return json.loads(raw) if raw else {}


def text_answers(filters: ResultFilters, *, page: int | str = 1, per_page: int = 20) -> TextAnswerPage:
    """Free-text answers, newest first, one page decrypted at a time: three queries."""
    responses = (
        Response.objects.filter(filters.responses(), erased_at__isnull=True)
        .exclude(comments_ct="")
        .select_related("customer", "campaign")
        .order_by("-submitted_at", "-id")
    )
    current = Paginator(responses, per_page).get_page(page)
    decrypted = [(response, decrypted_texts(response)) for response in current.object_list]
    question_ids = {int(key) for _response, texts in decrypted for key in texts}
    questions = dict(Question.objects.filter(pk__in=question_ids).values_list("pk", "text")) if question_ids else {}
    items = [
        TextAnswer(
            response.pk,
            response.submitted_at,
            response.campaign.name,
            response.customer.name,
            questions.get(int(key), ""),
            text,
        )
        for response, texts in decrypted
        for key, text in texts.items()
    ]
    return TextAnswerPage(items=items, page=current)


# --- the customer 360 panel ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LatestScore:
    submitted_at: datetime
    kind: str
    kind_label: str
    score: int
    scale_max: int
    campaign_id: int
    campaign_name: str
    contact_name: str


def latest_scores_for_customer(customer, user, *, limit: int = 10) -> list[LatestScore]:
    """The newest NPS and CSAT answers of the customer's contacts: one query. Contact names only
    for users who may see contacts."""
    show_contacts = user.has_perm("customers.view_contact")
    answers = (
        Answer.objects.filter(response__customer=customer, kind__in=[NPS, CSAT])
        .select_related("response__campaign", "response__invitation__contact")
        .order_by("-submitted_at", "-id")[:limit]
    )
    return [
        LatestScore(
            submitted_at=answer.submitted_at,
            kind=answer.kind,
            kind_label=QuestionKind(answer.kind).name,
            score=answer.score,
            scale_max=SCALES[answer.kind][1],
            campaign_id=answer.response.campaign_id,
            campaign_name=answer.response.campaign.name,
            contact_name=answer.response.invitation.contact.display_name if show_contacts else "",
        )
        for answer in answers
    ]


# --- export ----------------------------------------------------------------------------------------------------


def export_rows(campaign: Campaign) -> Iterator[list[str]]:
    """The CSV rows of a campaign's responses: a header, then one row per response and one column
    per question of its questionnaire. Streams in chunks; the caller records the export first."""
    questions = list(Question.objects.filter(version_id=campaign.template_version_id).order_by("position"))
    yield ["response", "submitted_at", "wave", "customer", "segment", "product"] + [q.text for q in questions]
    responses = (
        Response.objects.filter(campaign=campaign)
        .select_related("wave", "customer", "product")
        .prefetch_related("answers")
        .order_by("submitted_at", "id")
    )
    for response in responses.iterator(chunk_size=500):
        by_question = {answer.question_id: answer for answer in response.answers.all()}
        texts = decrypted_texts(response)
        row = [
            str(response.pk),
            response.submitted_at.isoformat(),
            str(response.wave.number),
            response.customer.name,
            response.customer.segment,
            response.product.name if response.product else "",
        ]
        for question in questions:
            answer = by_question.get(question.pk)
            if question.kind == QuestionKind.TEXT:
                row.append(texts.get(str(question.pk), ""))
            elif answer is None:
                row.append("")
            elif question.kind in SCALES:
                row.append(str(answer.score))
            else:
                row.append("; ".join(answer.choices))
        yield row


# --- subject-access export --------------------------------------------------------------------------------------


def contact_export_section(*, contact_id: int) -> dict[str, Any]:
    """What surveys hold about one contact, for customers.contact_export (registered with
    apps.core.personal_data): their invitations, their opt-out, and their responses with the
    scores, choices and their own free text while it is readable (empty once erased). Four queries."""
    invitations = (
        Invitation.objects.filter(contact_id=contact_id)
        .select_related("campaign", "wave")
        .defer("nonce", "token_hash")
        .order_by("created_at", "id")
    )
    responses = (
        Response.objects.filter(invitation__contact_id=contact_id)
        .select_related("campaign", "wave")
        .prefetch_related(
            Prefetch("answers", queryset=Answer.objects.select_related("question").order_by("question__position"))
        )
        .order_by("submitted_at", "id")
    )
    responses = list(responses)
    texts = {response.pk: decrypted_texts(response) for response in responses}
    question_ids = {int(key) for by_question in texts.values() for key in by_question}
    questions = dict(Question.objects.filter(pk__in=question_ids).values_list("pk", "text")) if question_ids else {}
    opt_out = SurveyOptOut.objects.filter(contact_id=contact_id).values_list("created_at", flat=True).first()
    return {
        "survey_invitations": [
            {
                "campaign": invitation.campaign.name,
                "wave": invitation.wave.number,
                "status": invitation.status,
                "sent_at": _iso(invitation.sent_at),
                "reminders_sent": invitation.reminders_sent,
                "responded_at": _iso(invitation.responded_at),
            }
            for invitation in invitations
        ],
        "survey_opt_out_at": _iso(opt_out),
        "survey_responses": [
            {
                "campaign": response.campaign.name,
                "wave": response.wave.number,
                "submitted_at": _iso(response.submitted_at),
                "answers": [
                    {
                        "question": answer.question.text,
                        "kind": answer.kind,
                        "score": answer.score,
                        "choices": list(answer.choices),
                    }
                    for answer in response.answers.all()
                ],
                "text_answers": [
                    {"question": questions.get(int(key), ""), "text": text} for key, text in texts[response.pk].items()
                ],
                "erased_at": _iso(response.erased_at),
            }
            for response in responses
        ],
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
