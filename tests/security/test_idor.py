"""The IDOR sweep (#10): two customers and two staff members, each trying the other's ids and
links. Nothing foreign is returned or changed (404 or 403), and lists never show foreign rows.

Complaints are the records that belong to someone: a customer (by their private link) and the
staff member handling it. Corrective actions, requirements and feedback are the organisation's
and readable by every staff member (tests/security/matrix.py); only their writes are scoped,
which the matrix proves for a colleague's record.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.actions import services as actions
from apps.actions.models import ActionPlanItem
from apps.audit.models import AuditEntry
from apps.complaints.models import Complaint, ComplaintMessage
from apps.evidence import services as evidence
from apps.surveys.models import Invitation, Response, SurveyOptOut
from tests.actions.factories import ActionFactory
from tests.complaints.factories import make_complaint
from tests.factories import UserFactory
from tests.security.access import outcome
from tests.security.routes import page_patterns
from tests.surveys.test_public_views import form_data
from tests.surveys.test_responses import make_invitation, make_wave

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def _file(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG, content_type="image/png")


@pytest.fixture
def complaints(settings, tmp_path, quality_manager, staff, other_staff) -> dict[str, Complaint]:
    """Ann's complaint is handled by `staff`, Ben's by `other_staff`; each carries a photo."""
    settings.MEDIA_ROOT = str(tmp_path)
    made = {}
    for key, name, handler in (("mine", "Ann", staff), ("theirs", "Ben", other_staff)):
        made[key] = make_complaint(
            qm=quality_manager,
            assignee=handler,
            complainant_name=f"{name} Customer",
            complainant_email=f"{name.lower()}@example.org",
            description=f"{name}'s pump arrived cracked.",
            attachments=[_file(f"{name.lower()}.png")],
        )
    return made


def _footprint(complaint: Complaint) -> tuple:
    """Everything a request could have changed about a complaint."""
    complaint = Complaint.objects.get(pk=complaint.pk)
    return (
        complaint.status,
        complaint.assignee_id,
        complaint.updated_at,
        complaint.messages.count(),
        complaint.attachments.count(),
        AuditEntry.objects.filter(object_id=str(complaint.pk), content_type__model="complaint").count(),
    )


def _complaint_routes(complaint: Complaint):
    for name, pattern in page_patterns():
        if name.startswith("complaints:") and "pk" in pattern.pattern.converters:
            kwargs = {"pk": complaint.pk}
            if "attachment_id" in pattern.pattern.converters:
                kwargs["attachment_id"] = complaint.attachments.get().pk
            yield name, reverse(name, kwargs=kwargs)


def test_staff_never_reach_a_colleagues_complaint_or_change_it(complaints, clients, api_clients):
    theirs = complaints["theirs"]
    before = _footprint(theirs)
    answers = {}
    payload = {"to": "closed", "reason": "mine now", "body": "hello", "visibility": "customer"}
    api = f"/api/v1/complaints/{theirs.pk}/"
    for name, url in _complaint_routes(theirs):
        answers[f"GET {name}"] = outcome(clients["staff"].get(url))
        answers[f"POST {name}"] = outcome(
            clients["staff"].post(
                url, {"to": "closed", "reason": "mine now", "body": "hello", "visibility": "customer"}
            )
        )
    api = f"/api/v1/complaints/{theirs.pk}/"
    payload = {"to": "closed", "reason": "mine now", "body": "hello", "visibility": "customer"}
    answers["GET api"] = outcome(api_clients["staff"].get(api))
    answers["PATCH api"] = outcome(api_clients["staff"].patch(api, {"description": "mine now"}, format="json"))
    for action in ("assign", "messages", "transition"):
        answers[f"POST api {action}"] = outcome(api_clients["staff"].post(f"{api}{action}/", payload, format="json"))

    # Reading is where a leak would be: "no such complaint", never "not yours" (a 403 or 405
    # here comes before the complaint is looked up, and a wrong id gets the same).
    assert {key: value for key, value in answers.items() if value not in ("absent", "deny", "method")} == {}
    assert answers["GET complaints:complaint_detail"] == "absent"
    assert answers["GET complaints:attachment"] == "absent"
    assert answers["GET api"] == "absent"
    assert _footprint(theirs) == before


def test_a_nested_id_must_belong_to_its_parent_even_for_a_quality_manager(complaints, clients, api_clients, staff):
    mine, theirs = complaints["mine"], complaints["theirs"]
    foreign_photo = theirs.attachments.get()
    for persona in ("staff", "quality_manager"):
        url = reverse("complaints:attachment", kwargs={"pk": mine.pk, "attachment_id": foreign_photo.pk})
        assert outcome(clients[persona].get(url)) == "absent", persona

    action_mine = ActionFactory(actor=staff)
    action_theirs = ActionFactory(actor=staff)
    due = timezone.localdate() + timedelta(days=7)
    foreign_item = actions.plan_item_add(
        action_id=action_theirs.pk, actor=staff, description="Replace the seal", owner=staff, due_date=due
    )
    for persona in ("staff", "quality_manager"):
        page = reverse("actions:plan_item_done", kwargs={"pk": action_mine.pk, "item_pk": foreign_item.pk})
        assert outcome(clients[persona].post(page)) == "absent", persona
        api = f"/api/v1/actions/{action_mine.pk}/plan-items/{foreign_item.pk}/done/"
        assert outcome(api_clients[persona].post(api, {}, format="json")) == "absent", persona
    assert ActionPlanItem.objects.get(pk=foreign_item.pk).done_at is None


@pytest.mark.parametrize(
    "query",
    ["", "?q={ref}", "?assignee={other}", "?status=received", "?ordering=-received_at"],
)
def test_complaint_lists_never_show_a_colleagues_complaint(complaints, clients, api_clients, other_staff, query):
    mine, theirs = complaints["mine"], complaints["theirs"]
    query = query.format(ref=theirs.reference, other=other_staff.pk)
    page = clients["staff"].get(reverse("complaints:complaint_list") + query).content.decode()
    api = api_clients["staff"].get("/api/v1/complaints/" + query).content.decode()
    # The search box echoes the query, so look for the foreign complaint's link and its content.
    assert reverse("complaints:complaint_detail", args=[theirs.pk]) not in page
    assert "Ben Customer" not in page
    assert f'"id":{theirs.pk},' not in api.replace(" ", "")
    if not query or "status" in query or "ordering" in query:
        assert reverse("complaints:complaint_detail", args=[mine.pk]) in page
        assert f'"id":{mine.pk},' in api.replace(" ", "")
    home = clients["staff"].get(reverse("dashboard:home")).content.decode()
    assert mine.reference in home
    assert theirs.reference not in home


def test_a_customers_link_shows_and_changes_only_their_own_complaint(complaints):
    mine, theirs = complaints["mine"], complaints["theirs"]
    before = _footprint(theirs)
    customer = Client()
    url = reverse("complaints:track", args=[mine.tracking_token])

    page = customer.get(url).content.decode()
    assert mine.reference in page
    assert theirs.reference not in page
    assert "Ben" not in page

    response = customer.post(
        url,
        {"form": "info", "body": "Photo of the crack attached.", "complaint": theirs.pk, "complaint_id": theirs.pk},
    )
    assert response.status_code == 302
    assert [message.body for message in mine.messages.filter(author_kind=ComplaintMessage.AuthorKind.CUSTOMER)] == [
        "Photo of the crack attached."
    ]
    assert _footprint(theirs) == before


def test_a_survey_link_answers_and_opts_out_only_its_own_invitation(db):
    wave = make_wave()
    mine, theirs = make_invitation(wave), make_invitation(wave)
    customer = Client()

    data = {**form_data(mine, nps="9", csat="5"), "invitation": theirs.pk, "contact": theirs.contact_id}
    response = customer.post(reverse("surveys_public:answer", args=[mine.token]), data)
    assert response.status_code in (200, 302)
    assert list(Response.objects.values_list("invitation_id", flat=True)) == [mine.pk]
    assert Invitation.objects.get(pk=theirs.pk).responded_at is None

    customer.post(reverse("surveys_public:opt_out", args=[mine.token]), {"contact": theirs.contact_id})
    assert list(SurveyOptOut.objects.values_list("contact_id", flat=True)) == [mine.contact_id]


def test_an_auditor_never_gets_another_auditors_evidence_pack(db, settings, tmp_path, auditor):
    settings.MEDIA_ROOT = str(tmp_path)
    today = timezone.localdate()
    pack = evidence.pack_request(actor=auditor, clauses=["9.1.2"], period_start=today, period_end=today, enqueue=False)
    pack = evidence.pack_build(pack_id=pack.pk)
    colleague = Client()
    colleague.force_login(UserFactory(email="audit2@example.com", role="auditor"))

    download = reverse("evidence:pack_download", args=[pack.pk])
    assert outcome(colleague.get(download)) == "absent"
    assert download not in colleague.get(reverse("evidence:pack_list")).content.decode()
