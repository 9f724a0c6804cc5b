"""The deterministic, seeded bench data set, loaded through PostgreSQL COPY.

One call, `load(size)`, writes customers (in segments), contacts (survey consent, personal
fields encrypted), a questionnaire with NPS / CSAT / CES / choice / text questions, a main
campaign holding `answers` answers in monthly waves, a background campaign with a quarter as
many, their invitations, responses and answers; then VACUUM ANALYZE. Rows go in as COPY text
(hundreds of thousands a second, against tens of thousands for bulk_create); ids are given
here, so the sequences are moved past them afterwards.

Distributions: NPS skewed (about 45% promoters, 20% detractors), a third of responses with
a comment, submissions bunched in the days after each wave's send. Every byte written is
hashed, so the checksum identifies the data set: runs on different data are never compared.
Ciphertexts are deterministic too (fixed IV and time, one shared data key), which is why the
checksum also changes when FIELD_ENCRYPTION_KEY does.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import io
import json
import random
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate

from cryptography.fernet import Fernet
from django.conf import settings
from django.db import connection

GENERATOR_VERSION = 1
SEED = 20260901
ANCHOR = datetime(2026, 10, 1, tzinfo=UTC)  # fixed, so the data set never depends on the day it is made
ANSWERS_PER_RESPONSE = 4.55  # NPS + CSAT + 0.85 CES + single choice + 0.7 multiple choice
RESPONSE_RATE = 0.35
BACKGROUND_SHARE = 0.25
# Loaded without their secondary indexes and constraints, which are rebuilt afterwards.
BULK_TABLES = ["customers_contact", "surveys_invitation", "surveys_response", "surveys_answer"]

SEGMENTS = ["Enterprise", "Mid-market", "Small business", "Public sector", "Healthcare"]
SEGMENT_WEIGHTS = [15, 30, 35, 12, 8]
NPS_WEIGHTS = [2, 1, 1, 2, 3, 5, 6, 17, 18, 20, 25]  # 0..10: 20% detractors, 35% passives, 45% promoters
CSAT_WEIGHTS = [5, 8, 17, 40, 30]  # 1..5
CES_WEIGHTS = [3, 5, 8, 14, 25, 27, 18]  # 1..7
SINGLE_CHOICES = ["E-mail", "Account manager", "Website", "Trade fair"]
MULTIPLE_CHOICES = ["Quality", "Delivery", "Price", "Support", "Documentation"]
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


SIZES = {
    "S": Size("S", answers=50_000, customers=1_500, contacts=12_000, waves=6, dispatch_slice=600),
    # About 100,000 surveyable contacts: the dispatch campaign of issue #5.
    "M": Size("M", answers=1_000_000, customers=20_000, contacts=117_000, waves=12, dispatch_slice=2_400),
    "L": Size("L", answers=5_000_000, customers=200_000, contacts=400_000, waves=12, dispatch_slice=6_000),
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
        and primary keys stay."""
        saved = []
        with connection.cursor() as cursor:
            for table in tables:
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
                cursor.execute("RESET maintenance_work_mem")

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

    with loader.bulk(BULK_TABLES):
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
    loader.finish_sequences()
    with connection.cursor() as cursor:
        for table in loader.rows:
            cursor.execute(f"VACUUM ANALYZE {table}")
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
