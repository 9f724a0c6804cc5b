"""Analytics test data: complaints, feedback and survey answers recorded through the services,
then moved to fixed local times (the services stamp "now"), so every expectation is hand-computed.

Times are local (settings.TIME_ZONE, Europe/Berlin) unless a test says otherwise.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.db import connection

from apps.complaints.models import Complaint
from apps.feedback.models import Feedback
from apps.surveys.models import Answer, Campaign, Invitation, Response
from tests.complaints.factories import make_category, make_complaint
from tests.customers.factories import CustomerFactory, ProductFactory
from tests.surveys.factories import CampaignFactory
from tests.surveys.test_responses import make_invitation, make_wave, submit


def local(y: int, m: int, d: int, h: int = 12, minute: int = 0) -> datetime:
    return datetime(y, m, d, h, minute, tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE))


def complaint(
    qm,
    received_at: datetime,
    *,
    status: str = Complaint.Status.RECEIVED,
    product=None,
    customer=None,
    category=None,
    channel: str = "web",
    **stamps,
) -> Complaint:
    """A complaint moved to `status` by `qm`, then received at `received_at`; `stamps` set the
    stage timestamps and due dates (acknowledged_at=…, ack_due_at=…, closed_at=…)."""
    made = make_complaint(qm=qm, status=status, product=product, customer=customer, channel=channel)
    fields = {"received_at": received_at, "category": category, **stamps}
    Complaint.objects.filter(pk=made.pk).unaudited_update(**fields)
    return Complaint.objects.get(pk=made.pk)


def closed_complaint(
    qm,
    received_at: datetime,
    closed_at: datetime,
    *,
    within_sla: bool = True,
    ack_hours: float = 1,
    respond_hours: float = 3,
    **kwargs,
) -> Complaint:
    """A closed complaint acknowledged `ack_hours` and assessed an hour later, responded
    `respond_hours` after receipt; every due date a day after its stage (within SLA) or an hour
    before it (missed)."""
    ack = received_at + timedelta(hours=ack_hours)
    assessed = ack + timedelta(hours=1)
    responded = received_at + timedelta(hours=respond_hours)
    shift = timedelta(days=1) if within_sla else -timedelta(hours=1)
    return complaint(
        qm,
        received_at,
        status=Complaint.Status.CLOSED,
        acknowledged_at=ack,
        assessed_at=assessed,
        responded_at=responded,
        closed_at=closed_at,
        ack_due_at=ack + shift,
        assess_due_at=assessed + shift,
        respond_due_at=responded + shift,
        close_due_at=closed_at + shift,
        **kwargs,
    )


def feedback(
    actor, created_at: datetime, *, rating=None, channel="email", customer=None, product=None, sentiment=None
) -> Feedback:
    from apps.feedback import services

    made = services.feedback_record(
        actor=actor, channel=channel, text="Delivery was late.", rating=rating, customer=customer, product=product
    )
    fields = {"created_at": created_at}
    if sentiment is not None:
        fields["sentiment"] = sentiment
    Feedback.objects.filter(pk=made.pk).unaudited_update(**fields)
    return Feedback.objects.get(pk=made.pk)


class Surveys:
    """Responses to one active campaign: `answer(at, customer=, product=, nps=, csat=, ces=)`."""

    def __init__(self):
        self.campaign = CampaignFactory(status=Campaign.Status.ACTIVE)
        self.wave = make_wave(self.campaign)

    def invitation(self, sent_at: datetime, *, customer, product=None) -> Invitation:
        """A sent invitation nobody answered."""
        invitation = make_invitation(self.wave, customer=customer, product=product)
        Invitation.objects.filter(pk=invitation.pk).update(sent_at=sent_at)
        return invitation

    def answer(self, at: datetime, *, customer, product=None, sent_at: datetime | None = None, **scores) -> Response:
        """A response submitted at `at` to an invitation sent two days before (or at `sent_at`)."""
        invitation = make_invitation(self.wave, customer=customer, product=product)
        response = submit(invitation, **scores)
        Response.objects.filter(pk=response.pk).update(submitted_at=at)
        Answer.objects.filter(response=response).update(submitted_at=at)
        Invitation.objects.filter(pk=invitation.pk).update(sent_at=sent_at or at - timedelta(days=2), responded_at=at)
        return response


@pytest.fixture
def surveys(db) -> Surveys:
    return Surveys()


@pytest.fixture
def products(db):
    return ProductFactory(name="Pumps"), ProductFactory(name="Valves")


@pytest.fixture
def customers(db):
    """(Enterprise customer, SMB customer)."""
    return CustomerFactory(segment="Enterprise"), CustomerFactory(segment="SMB")


@pytest.fixture
def categories(db):
    return make_category("Damaged delivery"), make_category("Late delivery"), make_category("Wrong item")


def markers() -> list[tuple[str, datetime]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT source, hour FROM analytics_dirty ORDER BY id")
        return cursor.fetchall()


def clear_markers() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM analytics_dirty")


def rollup_rows() -> dict[str, list[tuple]]:
    """Every roll-up row of the daily, monthly and total tables, sorted, for "nothing changed" comparisons."""
    result = {}
    with connection.cursor() as cursor:
        for table in (
            "analytics_surveydaily",
            "analytics_complaintdaily",
            "analytics_feedbackdaily",
            "analytics_complaintmonthly",
            "analytics_feedbackmonthly",
            "analytics_complaintmonthlytotal",
            "analytics_feedbackmonthlytotal",
        ):
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - fixed table names
            # repr as the key: nullable product and category ids do not compare with ints
            result[table] = sorted((tuple(row[1:]) for row in cursor.fetchall()), key=repr)
    return result


class Dataset:
    """The records of the `dataset` fixture, by the names its docstring uses."""


@pytest.fixture
def dataset(db, quality_manager, surveys, products, customers, categories):
    """Complaints, feedback and survey answers in January-March 2026, with month-boundary
    records at 23:30 on 31 January and 00:30 on 1 February (local), then refreshed.

    Complaints (received; product, segment, category, channel; state):
      c1 10 Jan  Pumps  Enterprise Damaged web   closed 20 Jan within SLA, ack 2 h, response 2 d
      c2 31 Jan 23:30 Pumps SMB Late email       open (received), acknowledge due 1 Feb, missed
      c3  1 Feb 00:30 Valves Enterprise Damaged web  closed 3 Mar, SLA missed, ack 4 h, response 5 d
      c4 15 Feb  -      -          -       phone closed 20 Feb within SLA, ack 1 h, response 1 d
      c5 20 Feb  Pumps  Enterprise Damaged web   acknowledged after 10 h
      c6  5 Mar  Valves SMB        Wrong   web   closed 10 Mar within SLA, ack 3 h, response 12 h
    Survey answers (submitted; segment, product; NPS, CSAT, CES), invitations sent 2 days before:
      a1 15 Jan E Pumps 10 5 6 | a2 31 Jan 23:30 E Valves 9 4 7 | a3 1 Feb 00:30 SMB Pumps 6 2 3
      a4 10 Feb SMB - 8 3 - | a5 3 Mar E Pumps 3 5 5; unanswered invitations: 20 Jan E Pumps, 20 Feb SMB
    Feedback (recorded; rating -> sentiment; channel; segment; product):
      f1 5 Jan 5 positive email E Pumps | f2 31 Jan 23:30 1 negative phone SMB Pumps
      f3 1 Feb 00:30 3 neutral email - Valves | f4 10 Feb unrated meeting E - | f5 2 Mar 2 negative email E Valves
    """
    from apps.analytics import services

    qm = quality_manager
    pumps, valves = products
    ent, smb = customers
    damaged, late, wrong = categories
    d = Dataset()
    d.pumps, d.valves, d.ent, d.smb = pumps, valves, ent, smb
    d.damaged, d.late, d.wrong = damaged, late, wrong
    d.c1 = closed_complaint(
        qm,
        local(2026, 1, 10),
        local(2026, 1, 20),
        ack_hours=2,
        respond_hours=48,
        product=pumps,
        customer=ent,
        category=damaged,
        channel="web",
    )
    d.c2 = complaint(
        qm,
        local(2026, 1, 31, 23, 30),
        product=pumps,
        customer=smb,
        category=late,
        channel="email",
        ack_due_at=local(2026, 2, 1, 8),
    )
    d.c3 = closed_complaint(
        qm,
        local(2026, 2, 1, 0, 30),
        local(2026, 3, 3),
        within_sla=False,
        ack_hours=4,
        respond_hours=120,
        product=valves,
        customer=ent,
        category=damaged,
        channel="web",
    )
    d.c4 = closed_complaint(qm, local(2026, 2, 15), local(2026, 2, 20), ack_hours=1, respond_hours=24, channel="phone")
    d.c5 = complaint(
        qm,
        local(2026, 2, 20),
        status=Complaint.Status.ACKNOWLEDGED,
        acknowledged_at=local(2026, 2, 20, 22),
        product=pumps,
        customer=ent,
        category=damaged,
        channel="web",
    )
    d.c6 = closed_complaint(
        qm,
        local(2026, 3, 5),
        local(2026, 3, 10),
        ack_hours=3,
        respond_hours=12,
        product=valves,
        customer=smb,
        category=wrong,
        channel="web",
    )
    surveys.answer(local(2026, 1, 15), customer=ent, product=pumps, nps=10, csat=5, ces=6)
    surveys.answer(local(2026, 1, 31, 23, 30), customer=ent, product=valves, nps=9, csat=4, ces=7)
    surveys.answer(local(2026, 2, 1, 0, 30), customer=smb, product=pumps, nps=6, csat=2, ces=3)
    surveys.answer(local(2026, 2, 10), customer=smb, nps=8, csat=3)
    surveys.answer(local(2026, 3, 3), customer=ent, product=pumps, nps=3, csat=5, ces=5)
    surveys.invitation(local(2026, 1, 20), customer=ent, product=pumps)
    surveys.invitation(local(2026, 2, 20), customer=smb)
    d.f1 = feedback(qm, local(2026, 1, 5), rating=5, channel="email", customer=ent, product=pumps)
    d.f2 = feedback(qm, local(2026, 1, 31, 23, 30), rating=1, channel="phone", customer=smb, product=pumps)
    d.f3 = feedback(qm, local(2026, 2, 1, 0, 30), rating=3, channel="email", product=valves)
    d.f4 = feedback(qm, local(2026, 2, 10), channel="meeting", customer=ent)
    d.f5 = feedback(qm, local(2026, 3, 2), rating=2, channel="email", customer=ent, product=valves)
    while services.refresh().markers:
        pass
    return d
