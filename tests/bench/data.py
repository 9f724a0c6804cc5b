"""The deterministic, seeded bench data set, loaded through PostgreSQL COPY.

One call, `load(size)`, writes products, customers (in segments), contacts (survey consent,
personal fields encrypted), a questionnaire with NPS / CSAT / CES / choice / text questions, a
main campaign holding `answers` answers in monthly waves, a background campaign with a quarter
as many, their invitations, responses and answers; twelve months of complaints (categories,
products, channels, severities, SLA due dates, long-tailed handling times) and feedback
(channels, ratings, sentiment, categories, products); then VACUUM ANALYZE and the analytics
roll-ups' full rebuild. Rows go in as COPY text (hundreds of thousands a second, against tens
of thousands for bulk_create); ids are given here, so the sequences are moved past them
afterwards. Inside a transaction (the smoke run in tests/smoke) it works too, with ANALYZE only.

Distributions: NPS skewed (about 45% promoters, 20% detractors), a third of responses with
a comment, submissions bunched in the days after each wave's send; complaint categories and
products Pareto-like, acknowledgement, response and closure delays log-normal (a long tail of
complaints taking weeks), due dates from the real SLA policy and working-time calendar. Every
byte written is hashed, so the checksum identifies the data set: runs on different data are
never compared.
Ciphertexts are deterministic too (fixed IV and time, one shared data key), which is why the
checksum also changes when FIELD_ENCRYPTION_KEY does.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import io
import json
import math
import random
import time
import zoneinfo
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from itertools import accumulate

from cryptography.fernet import Fernet
from django.conf import settings
from django.db import connection

GENERATOR_VERSION = 2
SEED = 20260901
ANCHOR = datetime(2026, 10, 1, tzinfo=UTC)  # fixed, so the data set never depends on the day it is made
ANSWERS_PER_RESPONSE = 4.55  # NPS + CSAT + 0.85 CES + single choice + 0.7 multiple choice
RESPONSE_RATE = 0.35
BACKGROUND_SHARE = 0.25
# Loaded without their secondary indexes and constraints, which are rebuilt afterwards.
BULK_TABLES = [
    "customers_contact",
    "surveys_invitation",
    "surveys_response",
    "surveys_answer",
    "complaints_complaint",
    "feedback_feedback",
]
# The months of complaints and feedback before ANCHOR.
HISTORY_DAYS = 365

SEGMENTS = ["Enterprise", "Mid-market", "Small business", "Public sector", "Healthcare"]
SEGMENT_WEIGHTS = [15, 30, 35, 12, 8]
NPS_WEIGHTS = [2, 1, 1, 2, 3, 5, 6, 17, 18, 20, 25]  # 0..10: 20% detractors, 35% passives, 45% promoters
CSAT_WEIGHTS = [5, 8, 17, 40, 30]  # 1..5
CES_WEIGHTS = [3, 5, 8, 14, 25, 27, 18]  # 1..7
SINGLE_CHOICES = ["E-mail", "Account manager", "Website", "Trade fair"]
MULTIPLE_CHOICES = ["Quality", "Delivery", "Price", "Support", "Documentation"]
SEVERITY_WEIGHTS = {"low": 30, "medium": 45, "high": 20, "critical": 5}
COMPLAINT_CHANNEL_WEIGHTS = {
    "web": 35,
    "email": 30,
    "phone": 20,
    "letter": 5,
    "in_person": 4,
    "feedback": 3,
    "other": 3,
}
COMPLAINT_CATEGORIES = [
    ("Late delivery", 30),
    ("Damaged goods", 20),
    ("Wrong item", 14),
    ("Invoice error", 10),
    ("Product defect", 8),
    ("Poor support", 6),
    ("Documentation", 5),
    ("Staff conduct", 3),
    ("Data protection", 2),
    ("Other", 2),
]
FEEDBACK_CHANNEL_WEIGHTS = {"web_form": 35, "email": 20, "phone": 15, "meeting": 5, "social_media": 10, "survey": 15}
FEEDBACK_CATEGORIES = ["Delivery", "Product quality", "Service", "Pricing", "Website", "Suggestion"]
FEEDBACK_RATING_WEIGHTS = [8, 10, 17, 35, 30]  # 1..5
COMPLAINT_TEXTS = [
    "The pallet arrived two days after the promised date.",
    "Three units were dented when we unpacked them.",
    "We received the 40 mm version instead of the 50 mm one.",
    "The invoice lists a discount we never agreed to.",
    "The seal failed after two weeks in service.",
]
FEEDBACK_TEXTS = [
    "Thanks for the quick turnaround on our last order.",
    "It would help if the order confirmation listed the batch numbers.",
    "The hotline kept us waiting for twenty minutes.",
    "Your technician was friendly and competent.",
    "Prices went up again without notice.",
    "The online catalogue is missing the spare parts.",
]
COMMENTS = [
    "Delivery was on time and the packaging was fine.",
    "Support took three days to answer my ticket.",
    "Great product, the documentation could be clearer.",
    "Invoices are hard to match with our orders.",
    "The new portal is much easier to use.",
    "Price increase was not announced early enough.",
    "Our account manager is very responsive.",
    "Two deliveries arrived damaged this quarter.",
]


@dataclass(frozen=True)
class Size:
    name: str
    answers: int  # answers of the main campaign
    customers: int
    contacts: int
    waves: int
    dispatch_slice: int  # recipients per dispatch repeat (see bench_dispatch.py)
    complaints: int = 0
    feedback: int = 0
    products: int = 20
    campaigns: int = 2  # the main and background campaigns, plus completed ones without answers


# Complaints and feedback scale with the answers as at L (issue #9: 500k complaints; issue #6:
# 1M feedback rows with 5M answers). XS is the smoke run's own size (tests/smoke), never a bench.
SIZES = {
    "XS": Size(
        "XS",
        answers=5_000,
        customers=300,
        contacts=1_500,
        waves=3,
        dispatch_slice=100,
        complaints=500,
        feedback=1_000,
        products=8,
        campaigns=2,
    ),
    "S": Size(
        "S",
        answers=50_000,
        customers=1_500,
        contacts=12_000,
        waves=6,
        dispatch_slice=600,
        complaints=5_000,
        feedback=10_000,
        products=20,
        campaigns=10,
    ),
    # About 100,000 surveyable contacts: the dispatch campaign of issue #5.
    "M": Size(
        "M",
        answers=1_000_000,
        customers=20_000,
        contacts=117_000,
        waves=12,
        dispatch_slice=2_400,
        complaints=100_000,
        feedback=200_000,
        products=60,
        campaigns=60,
    ),
    "L": Size(
        "L",
        answers=5_000_000,
        customers=200_000,
        contacts=400_000,
        waves=12,
        dispatch_slice=6_000,
        complaints=500_000,
        feedback=1_000_000,
        products=150,
        campaigns=300,
    ),
}


@dataclass
class Dataset:
    size: str
    checksum: str
    answers: int
    responses: int
    invitations: int
    contacts: int
    surveyable_contacts: int
    main_campaign_id: int
    background_campaign_id: int
    user_id: int
    segments: list[str]
    seconds: float
    rows: dict[str, int] = field(default_factory=dict)
    complaints: int = 0
    feedback: int = 0
    product_ids: list[int] = field(default_factory=list)
    complaint_category_ids: list[int] = field(default_factory=list)
    feedback_category_ids: list[int] = field(default_factory=list)
    first_day: str = ""  # ISO date: the first local day with complaints or feedback
    last_day: str = ""  # ISO date: the day after the last
    rollup_seconds: float | None = None  # the analytics full rebuild after loading; None without one

    def summary(self) -> dict:
        return dict(self.__dict__)


class _Picker:
    """Weighted choice from one uniform draw (random.choices is several times slower per call)."""

    def __init__(self, values, weights):
        self.values = list(values)
        total = sum(weights)
        self.cumulative = [w / total for w in accumulate(weights)]

    def __call__(self, rng: random.Random):
        return self.values[min(bisect.bisect(self.cumulative, rng.random()), len(self.values) - 1)]


def _ts(moment: datetime) -> str:
    return moment.isoformat()


class _Loader:
    def __init__(self):
        self.digest = hashlib.sha256(f"v{GENERATOR_VERSION}:{SEED}".encode())
        self.rows: dict[str, int] = {}

    def next_id(self, table: str) -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")  # noqa: S608 - our table names
            return cursor.fetchone()[0]

    def copy(self, table: str, columns: list[str], lines: list[str]) -> None:
        if not lines:
            return
        text = "\n".join(lines) + "\n"
        self.digest.update(f"{table}:{','.join(columns)}\n".encode())
        self.digest.update(text.encode())
        with connection.cursor() as cursor:
            cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", io.StringIO(text))
        self.rows[table] = self.rows.get(table, 0) + len(lines)

    @contextmanager
    def bulk(self, tables: list[str]):
        """Load `tables` without their secondary indexes, unique and foreign-key constraints,
        then build them again in one pass each (several times faster than maintaining them
        row by row; the constraints are validated when they come back). Check constraints
        and primary keys stay. User triggers (the analytics roll-ups' dirty markers) are off
        meanwhile: the full rebuild after loading covers every row at once."""
        saved = []
        with connection.cursor() as cursor:
            if connection.in_atomic_block:
                # Deferred foreign-key checks of rows written earlier in the transaction would
                # forbid the ALTER TABLEs: run them now.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for table in tables:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
                cursor.execute(
                    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = %s::regclass AND contype IN ('u', 'f') ORDER BY contype DESC, conname",
                    [table],
                )
                constraints = cursor.fetchall()
                cursor.execute(
                    "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
                    "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary "
                    "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid) ORDER BY 1",
                    [table],
                )
                indexes = cursor.fetchall()
                for name, _definition in constraints:
                    cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
                for name, _definition in indexes:
                    cursor.execute(f'DROP INDEX "{name}"')
                saved.append((table, constraints, indexes))
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET maintenance_work_mem = '256MB'")
                for table, constraints, indexes in saved:
                    for _name, definition in indexes:
                        cursor.execute(definition)
                    for name, definition in constraints:
                        cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
                    cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
                cursor.execute("RESET maintenance_work_mem")
                if connection.in_atomic_block:
                    cursor.execute("SET CONSTRAINTS ALL DEFERRED")

    def finish_sequences(self) -> None:
        with connection.cursor() as cursor:
            for table in self.rows:
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"  # noqa: S608
                )


def _null(value) -> str:
    return "\\N" if value is None else str(value)


def _bool(value: bool) -> str:
    return "t" if value else "f"


def _ciphers() -> tuple[str, Fernet]:
    """One data key for every bench row, wrapped by the test master key; deterministic."""
    master = Fernet(settings.FIELD_ENCRYPTION_KEY.split(",")[0].strip())
    data_key = base64.urlsafe_b64encode(hashlib.sha256(b"bench data key").digest())
    wrapped = master._encrypt_from_parts(data_key, 0, bytes(16)).decode()
    return wrapped, Fernet(data_key)


def _encrypt(fernet: Fernet, value: str) -> str:
    return fernet._encrypt_from_parts(value.encode(), 0, bytes(16)).decode()


def _questionnaire(user):
    from apps.surveys.models import Question, QuestionKind, SurveyTemplate, TemplateVersion

    template = SurveyTemplate.objects.create(name="Bench relationship survey", created_by=user)
    version = TemplateVersion.objects.create(
        template=template, number=1, title="How are we doing?", introduction="Two minutes, six questions."
    )
    specs = [
        (QuestionKind.NPS, "How likely are you to recommend us to a colleague?", True, []),
        (QuestionKind.CSAT, "How satisfied are you with our service overall?", True, []),
        (QuestionKind.CES, "How easy was it to get what you needed from us?", False, []),
        (QuestionKind.SINGLE_CHOICE, "How do you usually contact us?", True, SINGLE_CHOICES),
        (QuestionKind.MULTIPLE_CHOICE, "What do we do well?", False, MULTIPLE_CHOICES),
        (QuestionKind.TEXT, "Anything else you want to tell us?", False, []),
    ]
    questions = {}
    for position, (kind, text, required, choices) in enumerate(specs, start=1):
        questions[kind] = Question.objects.create(
            version=version, position=position, kind=kind, text=text, required=required, choices=choices
        )
    return version, questions


def _campaign(name: str, version, user, *, status: str = "active", waves: int = 0):
    from apps.surveys.models import AudienceKind, Campaign

    return Campaign.objects.create(
        name=name,
        template_version=version,
        status=status,
        audience_kind=AudienceKind.SEGMENTS,
        audience_segments=SEGMENTS,
        recurrence="monthly",
        last_wave_number=waves,
        fatigue_days=0,
        owner=user,
        created_by=user,
    )


def _text_lines(loader: _Loader, table: str, columns: list[str], rows: list[list[str]]) -> None:
    loader.copy(table, columns, ["\t".join(row) for row in rows])


def _products_and_categories(loader: _Loader, size: Size) -> tuple[list[int], list[int], list[int]]:
    first = loader.next_id("customers_product")
    products = [first + n for n in range(size.products)]
    _text_lines(
        loader,
        "customers_product",
        ["id", "created_at", "updated_at", "code", "name", "kind", "description", "is_active"],
        [
            [
                str(pk),
                _ts(ANCHOR - timedelta(days=HISTORY_DAYS + 60)),
                _ts(ANCHOR - timedelta(days=HISTORY_DAYS + 60)),
                f"BENCH-{n:04d}",
                f"Bench product {n:04d}",
                "service" if n % 5 == 4 else "product",
                "",
                "t",
            ]
            for n, pk in enumerate(products)
        ],
    )
    first = loader.next_id("complaints_complaintcategory")
    complaint_categories = [first + n for n in range(len(COMPLAINT_CATEGORIES))]
    _text_lines(
        loader,
        "complaints_complaintcategory",
        ["id", "created_at", "updated_at", "name", "is_active"],
        [
            [str(pk), _ts(ANCHOR), _ts(ANCHOR), f"{name} (bench)", "t"]
            for pk, (name, _weight) in zip(complaint_categories, COMPLAINT_CATEGORIES, strict=True)
        ],
    )
    first = loader.next_id("feedback_feedbackcategory")
    feedback_categories = [first + n for n in range(len(FEEDBACK_CATEGORIES))]
    _text_lines(
        loader,
        "feedback_feedbackcategory",
        ["id", "created_at", "updated_at", "name", "is_active", "description"],
        [
            [str(pk), _ts(ANCHOR), _ts(ANCHOR), f"{name} (bench)", "t", ""]
            for pk, name in zip(feedback_categories, FEEDBACK_CATEGORIES, strict=True)
        ],
    )
    return products, complaint_categories, feedback_categories


STAGES = ("acknowledge", "assess", "respond", "close")


class WorkingCalendar:
    """Working time as one line (seconds of working time since `first`), so a due date is a
    position plus a budget mapped back to a moment: the same answers as
    apps.complaints.sla.add_working_seconds (same working days, hours and holidays), a
    bisection each instead of a walk over the calendar per complaint and stage."""

    def __init__(self, first: date, last: date):
        from apps.complaints import sla

        self.tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
        opening, closing = (int(hour) for hour in settings.WORKING_HOURS)
        self.windows: list[tuple[datetime, datetime]] = []
        self.before: list[float] = []  # working seconds before each working day
        self.first_on_or_after: dict[date, int] = {}
        total = 0.0
        day = first
        while day <= last:
            self.first_on_or_after[day] = len(self.windows)
            if sla.is_working_day(day):
                opens = datetime.combine(day, dtime(opening), tzinfo=self.tz)
                closes = datetime.combine(day, dtime(closing), tzinfo=self.tz)
                self.windows.append((opens, closes))
                self.before.append(total)
                total += (closes - opens).total_seconds()
            day += timedelta(days=1)

    def position(self, moment: datetime) -> float:
        local = moment.astimezone(self.tz)
        index = self.first_on_or_after[local.date()]
        opens, closes = self.windows[index]
        if opens.date() != local.date():  # not a working day: the next one's start
            return self.before[index]
        length = (closes - opens).total_seconds()
        return self.before[index] + min(max((local - opens).total_seconds(), 0.0), length)

    def moment(self, position: float) -> datetime:
        # bisect_left: a position at a day's end is that day's closing time, not the next opening.
        index = max(0, bisect.bisect_left(self.before, position) - 1)
        opens, _closes = self.windows[index]
        return (opens + timedelta(seconds=position - self.before[index])).astimezone(UTC)


def _received(rng: random.Random) -> datetime:
    """A moment in the year before ANCHOR: fewer on weekends, most in office hours."""
    while True:
        day = ANCHOR - timedelta(days=1 + rng.randrange(HISTORY_DAYS))
        if day.weekday() < 5 or rng.random() < 0.3:
            break
    hour = 6 + rng.random() * 10 if rng.random() < 0.75 else rng.random() * 24
    return day.replace(hour=0) + timedelta(seconds=round(hour * 3600))


def _product_picker(product_ids: list[int]) -> _Picker:
    """Zipf-like: the first products draw most complaints and feedback."""
    return _Picker(product_ids, [1 / (rank + 1) for rank in range(len(product_ids))])


def _complaints(
    loader: _Loader,
    rng: random.Random,
    size: Size,
    *,
    customers,
    products,
    categories,
    fernet,
    wrapped_key: str,
    user_pk: int,
) -> int:
    from apps.complaints import sla

    policies = sla.policies()
    budgets = {severity: sla.stage_budgets(severity, policies) for severity in SEVERITY_WEIGHTS}
    calendar = WorkingCalendar(
        (ANCHOR - timedelta(days=HISTORY_DAYS + 2)).date(), (ANCHOR + timedelta(days=180)).date()
    )

    def due_dates(received: datetime, severity: str) -> list[datetime]:
        start = calendar.position(received)
        return [calendar.moment(start + budgets[severity][stage]) for stage in STAGES]

    severity_of = _Picker(SEVERITY_WEIGHTS, SEVERITY_WEIGHTS.values())
    channel_of = _Picker(COMPLAINT_CHANNEL_WEIGHTS, COMPLAINT_CHANNEL_WEIGHTS.values())
    category_of = _Picker(categories, [w for _n, w in COMPLAINT_CATEGORIES])
    product_of = _product_picker(products)
    rating_of = _Picker(range(1, 6), [10, 12, 20, 30, 28])
    names = [_encrypt(fernet, f"Bench Complainant {n}") for n in range(20)]
    emails = [_encrypt(fernet, f"bench-complainant-{n}@example.invalid") for n in range(20)]
    texts = [_encrypt(fernet, text) for text in COMPLAINT_TEXTS]
    first = loader.next_id("complaints_complaint")
    lines = []
    for index in range(size.complaints):
        pk = first + index
        received = _received(rng)
        severity = severity_of(rng)
        ack_due, assess_due, respond_due, close_due = due_dates(received, severity)
        # Log-normal delays: most complaints are handled in days, a long tail takes weeks.
        acknowledged = received + timedelta(hours=rng.lognormvariate(math.log(4), 1.0))
        assessed = acknowledged + timedelta(hours=rng.lognormvariate(math.log(8), 0.9))
        responded = assessed + timedelta(days=rng.lognormvariate(math.log(5), 0.9))
        closed = responded + timedelta(days=rng.lognormvariate(math.log(2), 1.0))
        outcome = rng.random()
        rejection = ""
        if outcome < 0.06:
            final = "rejected" if outcome < 0.04 else "withdrawn"
            rejection = "Outside the scope of our products." if final == "rejected" else ""
            assessed = responded = closed = None
            status = final if acknowledged <= ANCHOR else "received"
        else:
            status = "received"
            for stage_status, moment in (
                ("acknowledged", acknowledged),
                ("investigating", assessed),
                ("responded", responded),
                ("closed", closed),
            ):
                if moment > ANCHOR:
                    break
                status = stage_status
        stamps = [acknowledged, assessed, responded, closed]
        reached = {"received": 0, "acknowledged": 1, "investigating": 2, "responded": 3, "closed": 4}.get(status, 1)
        stamps = [moment if position < reached else None for position, moment in enumerate(stamps)]
        acknowledged, assessed, responded, closed = stamps
        rating = rated = None
        if closed is not None and rng.random() < 0.35 and closed + timedelta(days=2) <= ANCHOR:
            rating, rated = rating_of(rng), closed + timedelta(days=2)
        customer_pk = customers[rng.randrange(len(customers))][0] if rng.random() < 0.9 else None
        updated = max(moment for moment in (received, *stamps, rated) if moment is not None)
        lines.append(
            "\t".join(
                [
                    str(pk),
                    _ts(received),
                    _ts(updated),
                    wrapped_key,
                    "\\N",
                    f"CMP-{received.year}-B{index:06d}",
                    hashlib.sha256(f"bench-complaint-{index}".encode()).hexdigest(),
                    "",  # no kept token: the tracking link went out only once, as before #24
                    names[index % 20],
                    emails[index % 20],
                    hashlib.sha256(f"bench-complainant-{index % 20}".encode()).hexdigest(),
                    _null(customer_pk),
                    "" if customer_pk else "Bench walk-in customer",
                    "\\N",
                    _null(product_of(rng) if rng.random() < 0.92 else None),
                    f"PO-{index:07d}",
                    texts[index % len(texts)],
                    "",
                    channel_of(rng),
                    "de" if index % 3 == 0 else "en",
                    severity,
                    _null(category_of(rng) if status != "received" or rng.random() < 0.5 else None),
                    _null(user_pk if status != "received" else None),
                    status,
                    "",
                    rejection,
                    "",
                    "",
                    "",
                    "\\N",
                    "",
                    _null(rating),
                    "",
                    _null(rated and _ts(rated)),
                    "f",
                    "f",
                    _ts(received),
                    *[_null(moment and _ts(moment)) for moment in stamps],
                    "\\N",
                    "0",
                    "\\N",
                    "0",
                    _ts(ack_due),
                    _ts(assess_due),
                    _ts(respond_due),
                    _ts(close_due),
                ]
            )
        )
        if len(lines) >= 50_000:
            loader.copy("complaints_complaint", COMPLAINT_COLUMNS, lines)
            lines = []
    loader.copy("complaints_complaint", COMPLAINT_COLUMNS, lines)
    return size.complaints


def _feedback(
    loader: _Loader,
    rng: random.Random,
    size: Size,
    *,
    customers,
    products,
    categories,
    fernet,
    wrapped_key: str,
    user_pk: int,
) -> int:
    channel_of = _Picker(FEEDBACK_CHANNEL_WEIGHTS, FEEDBACK_CHANNEL_WEIGHTS.values())
    rating_of = _Picker(range(1, 6), FEEDBACK_RATING_WEIGHTS)
    unrated_sentiment = _Picker(["positive", "neutral", "negative"], [30, 40, 30])
    category_of = _Picker(categories, [25, 20, 20, 12, 13, 10])
    product_of = _product_picker(products)
    texts = [_encrypt(fernet, text) for text in FEEDBACK_TEXTS]
    public_name = _encrypt(fernet, "Bench Visitor")
    public_email = _encrypt(fernet, "bench-visitor@example.invalid")
    first = loader.next_id("feedback_feedback")
    lines = []
    for index in range(size.feedback):
        pk = first + index
        created = _received(rng)
        channel = channel_of(rng)
        public = channel == "web_form" and rng.random() < 0.3
        customer_pk = None if public else customers[rng.randrange(len(customers))][0]
        rating = rating_of(rng) if rng.random() < (0.9 if channel in ("web_form", "survey") else 0.5) else None
        triaged = created + timedelta(days=rng.lognormvariate(math.log(2), 1.0))
        sentiment, category, closed, status = "", None, None, "new"
        if triaged <= ANCHOR:
            status = "triaged"
            sentiment = (
                {1: "negative", 2: "negative", 3: "neutral"}.get(rating, "positive")
                if rating
                else (unrated_sentiment(rng))
            )
            category = category_of(rng)
            closing = triaged + timedelta(days=rng.lognormvariate(math.log(10), 0.8))
            fate = rng.random()
            if fate < 0.85 and closing <= ANCHOR:
                status, closed = "closed", closing
            elif fate < 0.95:
                status = "actioned"
        else:
            triaged = None
        updated = closed or triaged or created
        lines.append(
            "\t".join(
                [
                    str(pk),
                    _ts(created),
                    _ts(updated),
                    wrapped_key,
                    "\\N",
                    f"FB-{created.year}-B{index:07d}",
                    channel,
                    _null(customer_pk),
                    "\\N",
                    public_name if public else "",
                    public_email if public else "",
                    _null(product_of(rng) if rng.random() < 0.75 else None),
                    _null(rating),
                    texts[index % len(texts)],
                    _null(category),
                    sentiment,
                    status,
                    _null(user_pk if status != "new" else None),
                    _null(None if channel == "web_form" else user_pk),
                    _bool(channel == "survey" and rating is not None and rating <= 2),
                    "f",
                    "\\N",
                    _null(triaged and _ts(triaged)),
                    _null(closed and _ts(closed)),
                    "Thanked the customer." if closed else "",
                    "\\N",
                ]
            )
        )
        if len(lines) >= 50_000:
            loader.copy("feedback_feedback", FEEDBACK_COLUMNS, lines)
            lines = []
    loader.copy("feedback_feedback", FEEDBACK_COLUMNS, lines)
    return size.feedback


def analytics_operations() -> tuple[Callable[[], object], Callable[[], object]] | None:
    """(refresh, rebuild) of the analytics roll-ups, or None while the app has none."""
    import importlib

    for name in ("apps.analytics.services", "apps.analytics.rollups", "apps.analytics.refresh"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        refresh, rebuild = getattr(module, "refresh", None), getattr(module, "rebuild", None)
        if callable(refresh) and callable(rebuild):
            return refresh, rebuild
    return None


def period() -> tuple[date, date]:
    """The whole months [start, end) holding every generated survey answer, complaint and feedback."""
    start = (ANCHOR - timedelta(days=HISTORY_DAYS + 45)).date().replace(day=1)
    last = ANCHOR.date()
    end = date(last.year + (last.month == 12), last.month % 12 + 1, 1)
    return start, end


def _past_campaigns(version, user, count: int) -> None:
    """Completed campaigns without answers: the campaign lists' length at size L (300)."""
    from apps.surveys.models import AudienceKind, Campaign

    Campaign.objects.bulk_create(
        Campaign(
            name=f"Bench past campaign {number:03d}",
            template_version=version,
            status="completed",
            audience_kind=AudienceKind.SEGMENTS,
            audience_segments=SEGMENTS[number % len(SEGMENTS) :][:1],
            recurrence="once",
            fatigue_days=0,
            owner=user,
            created_by=user,
        )
        for number in range(max(0, count))
    )


def load(size_name: str) -> Dataset:
    """Generate and load the data set of `size_name` (S, M or L) into the current database."""
    from django.contrib.auth import get_user_model

    from apps.surveys.models import QuestionKind

    started = time.monotonic()
    size = SIZES[size_name]
    rng = random.Random(SEED)
    loader = _Loader()
    wrapped_key, fernet = _ciphers()
    user = get_user_model().objects.create_user(
        email="bench-owner@example.invalid", password=None, full_name="Bench Owner"
    )
    version, questions = _questionnaire(user)
    waves_main = size.waves
    waves_background = max(2, size.waves // 3)
    main = _campaign("Bench relationship survey (main)", version, user, waves=waves_main)
    background = _campaign("Bench relationship survey (background)", version, user, waves=waves_background)
    _past_campaigns(version, user, size.campaigns - 2)

    with loader.bulk(BULK_TABLES):
        products, complaint_categories, feedback_categories = _products_and_categories(loader, size)

        # Customers --------------------------------------------------------------------------
        segment_of = _Picker(SEGMENTS, SEGMENT_WEIGHTS)
        first_customer = loader.next_id("customers_customer")
        customers = []
        lines = []
        for index in range(size.customers):
            pk = first_customer + index
            segment = segment_of(rng)
            active = rng.random() < 0.97
            customers.append((pk, segment, active))
            lines.append(
                "\t".join(
                    [
                        str(pk),
                        _ts(ANCHOR),
                        _ts(ANCHOR),
                        f"Bench customer {index:06d}",
                        "organisation",
                        segment,
                        "",
                        "DE",
                        "active" if active else "inactive",
                        "",
                    ]
                )
            )
        loader.copy(
            "customers_customer",
            ["id", "created_at", "updated_at", "name", "kind", "segment", "industry", "country", "status", "notes"],
            lines,
        )

        # Contacts ----------------------------------------------------------------------------
        names = [_encrypt(fernet, f"Bench Contact {n}") for n in range(50)]
        emails = [_encrypt(fernet, f"bench-contact-{n}@example.invalid") for n in range(50)]
        phone = _encrypt(fernet, "+49 30 1234567")
        first_contact = loader.next_id("customers_contact")
        surveyable: list[tuple[int, int]] = []  # (contact, customer)
        lines = []
        for index in range(size.contacts):
            pk = first_contact + index
            customer_pk, _segment, customer_active = customers[rng.randrange(len(customers))]
            consent = rng.random() < 0.90
            active = rng.random() < 0.98
            if consent and active and customer_active:
                surveyable.append((pk, customer_pk))
            lines.append(
                "\t".join(
                    [
                        str(pk),
                        _ts(ANCHOR),
                        _ts(ANCHOR),
                        wrapped_key,
                        "\\N",
                        str(customer_pk),
                        names[index % 50],
                        emails[index % 50],
                        phone,
                        hashlib.sha256(f"bench-contact-{index}".encode()).hexdigest(),
                        "Purchasing",
                        "de" if index % 4 == 0 else "en",
                        _bool(consent),
                        _ts(ANCHOR) if consent else "\\N",
                        "contract" if consent else "",
                        _bool(active),
                        "\\N",
                    ]
                )
            )
        loader.copy(
            "customers_contact",
            [
                "id",
                "created_at",
                "updated_at",
                "data_key",
                "erased_at",
                "customer_id",
                "name_ct",
                "email_ct",
                "phone_ct",
                "email_index",
                "job_role",
                "preferred_language",
                "survey_consent",
                "survey_consent_at",
                "survey_consent_source",
                "is_active",
                "last_activity_at",
            ],
            lines,
        )

        # Waves, invitations, responses, answers ------------------------------------------------------
        nps_of = _Picker(range(11), NPS_WEIGHTS)
        csat_of = _Picker(range(1, 6), CSAT_WEIGHTS)
        ces_of = _Picker(range(1, 8), CES_WEIGHTS)
        comment_cts = [_encrypt(fernet, json.dumps({str(questions[QuestionKind.TEXT].pk): c})) for c in COMMENTS]
        q_nps, q_csat, q_ces = (
            questions[QuestionKind.NPS].pk,
            questions[QuestionKind.CSAT].pk,
            questions[QuestionKind.CES].pk,
        )
        q_single, q_multiple = questions[QuestionKind.SINGLE_CHOICE].pk, questions[QuestionKind.MULTIPLE_CHOICE].pk

        ids = {
            table: loader.next_id(table)
            for table in ("surveys_wave", "surveys_invitation", "surveys_response", "surveys_answer")
        }
        wave_lines: list[str] = []
        counts = {"answers": 0, "responses": 0, "invitations": 0}

        def campaign_waves(campaign, waves: int, answers: int) -> None:
            responses_per_wave = max(1, round(answers / ANSWERS_PER_RESPONSE / waves))
            invited_per_wave = min(len(surveyable), round(responses_per_wave / RESPONSE_RATE))
            responses_per_wave = min(responses_per_wave, invited_per_wave)
            for number in range(1, waves + 1):
                sent = ANCHOR - timedelta(days=30 * (waves - number) + 40) + timedelta(hours=9)
                closes = sent + timedelta(days=21)
                wave_pk = ids["surveys_wave"]
                ids["surveys_wave"] += 1
                wave_lines.append(
                    "\t".join(
                        [
                            str(wave_pk),
                            _ts(sent - timedelta(hours=1)),
                            _ts(closes),
                            str(campaign.pk),
                            str(number),
                            _ts(sent),
                            "closed",
                            _ts(sent),
                            _ts(sent),
                            _ts(closes),
                            _ts(closes),
                        ]
                    )
                )
                invited = rng.sample(surveyable, invited_per_wave)
                invitation_lines, response_lines, answer_lines = [], [], []
                for position, (contact_pk, customer_pk) in enumerate(invited):
                    invitation_pk = ids["surveys_invitation"]
                    ids["surveys_invitation"] += 1
                    responded = position < responses_per_wave
                    submitted = sent + timedelta(hours=min(rng.expovariate(1 / 30), 20 * 24)) if responded else None
                    unique = f"{campaign.pk}-{wave_pk}-{invitation_pk}"
                    invitation_lines.append(
                        "\t".join(
                            [
                                str(invitation_pk),
                                str(wave_pk),
                                str(campaign.pk),
                                str(contact_pk),
                                str(customer_pk),
                                "\\N",
                                hashlib.md5(unique.encode(), usedforsecurity=False).hexdigest(),
                                hashlib.sha256(unique.encode()).hexdigest(),
                                "sent",
                                "\\N",
                                "1",
                                _ts(sent),
                                "0",
                                "\\N",
                                "\\N",
                                _null(submitted and _ts(submitted)),
                                _ts(sent - timedelta(hours=1)),
                            ]
                        )
                    )
                    if not responded:
                        continue
                    response_pk = ids["surveys_response"]
                    ids["surveys_response"] += 1
                    at = _ts(submitted)
                    comment = comment_cts[rng.randrange(len(comment_cts))] if rng.random() < 1 / 3 else ""
                    response_lines.append(
                        "\t".join(
                            [
                                str(response_pk),
                                wrapped_key,
                                "\\N",
                                str(invitation_pk),
                                str(campaign.pk),
                                str(wave_pk),
                                str(customer_pk),
                                "\\N",
                                at,
                                comment,
                                "\\N",
                            ]
                        )
                    )
                    head = f"{response_pk}\t"
                    tail = f"\t{campaign.pk}"
                    answer_rows = [
                        (q_nps, "nps", nps_of(rng), "{}"),
                        (q_csat, "csat", csat_of(rng), "{}"),
                    ]
                    if rng.random() < 0.85:
                        answer_rows.append((q_ces, "ces", ces_of(rng), "{}"))
                    answer_rows.append((q_single, "single", None, "{" + f'"{rng.choice(SINGLE_CHOICES)}"' + "}"))
                    if rng.random() < 0.70:
                        chosen = rng.sample(MULTIPLE_CHOICES, rng.randint(1, 3))
                        answer_rows.append(
                            (q_multiple, "multiple", None, "{" + ",".join(f'"{c}"' for c in chosen) + "}")
                        )
                    for question_pk, kind, score, choices in answer_rows:
                        answer_pk = ids["surveys_answer"]
                        ids["surveys_answer"] += 1
                        answer_lines.append(
                            f"{answer_pk}\t{head}{question_pk}{tail}\t{kind}\t{at}\t{_null(score)}\t{choices}"
                        )
                loader.copy("surveys_wave", WAVE_COLUMNS, wave_lines)
                wave_lines.clear()
                loader.copy("surveys_invitation", INVITATION_COLUMNS, invitation_lines)
                loader.copy("surveys_response", RESPONSE_COLUMNS, response_lines)
                loader.copy("surveys_answer", ANSWER_COLUMNS, answer_lines)
                counts["invitations"] += len(invitation_lines)
                counts["responses"] += len(response_lines)
                counts["answers"] += len(answer_lines)

        campaign_waves(main, waves_main, size.answers)
        main_answers = counts["answers"]
        campaign_waves(background, waves_background, round(size.answers * BACKGROUND_SHARE))

        # Complaints and feedback: their own random stream, so the survey rows stay the same
        # bytes whatever is generated here.
        other = random.Random(SEED + 1)
        common = {"customers": customers, "fernet": fernet, "wrapped_key": wrapped_key, "user_pk": user.pk}
        _complaints(loader, other, size, products=products, categories=complaint_categories, **common)
        _feedback(loader, other, size, products=products, categories=feedback_categories, **common)
    loader.finish_sequences()
    # Inside a transaction (the smoke run loads and rolls back) VACUUM is not allowed; the
    # planner statistics are what matter there.
    statement = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
    with connection.cursor() as cursor:
        for table in loader.rows:
            cursor.execute(f"{statement} {table}")
    rollup_seconds = None
    operations = analytics_operations()
    if operations is not None:
        rebuilt = time.monotonic()
        operations[1]()
        rollup_seconds = round(time.monotonic() - rebuilt, 1)
    first_day, last_day = period()
    return Dataset(
        size=size.name,
        checksum=loader.digest.hexdigest(),
        answers=main_answers,
        responses=counts["responses"],
        invitations=counts["invitations"],
        contacts=size.contacts,
        surveyable_contacts=len(surveyable),
        main_campaign_id=main.pk,
        background_campaign_id=background.pk,
        user_id=user.pk,
        segments=SEGMENTS,
        seconds=round(time.monotonic() - started, 1),
        rows=dict(loader.rows),
        complaints=size.complaints,
        feedback=size.feedback,
        product_ids=products,
        complaint_category_ids=complaint_categories,
        feedback_category_ids=feedback_categories,
        first_day=first_day.isoformat(),
        last_day=last_day.isoformat(),
        rollup_seconds=rollup_seconds,
    )


WAVE_COLUMNS = [
    "id",
    "created_at",
    "updated_at",
    "campaign_id",
    "number",
    "scheduled_for",
    "status",
    "invitations_created_at",
    "sent_at",
    "closes_at",
    "closed_at",
]
INVITATION_COLUMNS = [
    "id",
    "wave_id",
    "campaign_id",
    "contact_id",
    "customer_id",
    "product_id",
    "nonce",
    "token_hash",
    "status",
    "claimed_at",
    "attempts",
    "sent_at",
    "reminders_sent",
    "last_reminded_at",
    "next_reminder_at",
    "responded_at",
    "created_at",
]
RESPONSE_COLUMNS = [
    "id",
    "data_key",
    "erased_at",
    "invitation_id",
    "campaign_id",
    "wave_id",
    "customer_id",
    "product_id",
    "submitted_at",
    "comments_ct",
    "follow_up_id",
]
ANSWER_COLUMNS = ["id", "response_id", "question_id", "campaign_id", "kind", "submitted_at", "score", "choices"]
COMPLAINT_COLUMNS = [
    "id",
    "created_at",
    "updated_at",
    "data_key",
    "erased_at",
    "reference",
    "token_hash",
    "token_ct",
    "name_ct",
    "email_ct",
    "email_index",
    "customer_id",
    "customer_name",
    "contact_id",
    "product_id",
    "order_reference",
    "description_ct",
    "desired_outcome_ct",
    "channel",
    "language",
    "severity",
    "category_id",
    "assignee_id",
    "status",
    "previous_status",
    "rejection_reason",
    "root_cause",
    "resolution",
    "dispute_body",
    "dispute_date",
    "dispute_outcome",
    "rating",
    "rating_comment_ct",
    "rated_at",
    "flagged",
    "escalated",
    "received_at",
    "acknowledged_at",
    "assessed_at",
    "responded_at",
    "closed_at",
    "reopened_at",
    "cycle",
    "paused_at",
    "paused_seconds",
    "ack_due_at",
    "assess_due_at",
    "respond_due_at",
    "close_due_at",
]
FEEDBACK_COLUMNS = [
    "id",
    "created_at",
    "updated_at",
    "data_key",
    "erased_at",
    "reference",
    "channel",
    "customer_id",
    "contact_id",
    "submitter_name_ct",
    "submitter_email_ct",
    "product_id",
    "rating",
    "text_ct",
    "category_id",
    "sentiment",
    "status",
    "owner_id",
    "recorded_by_id",
    "call_back",
    "consent_to_contact",
    "consent_at",
    "triaged_at",
    "closed_at",
    "close_reason",
    "complaint_id",
]
