"""Personal data is masked for every role without the personal-data permission (#22 §8).

Distinctive values are planted for a contact, a complainant, a feedback submitter and a
management review's distribution list; then every surface (API list and detail, pages,
downloads, evidence packs) is read by every persona. A value appears exactly where the
persona holds the permission, and where it is masked the marker stands in its place, so a
page that merely failed to render the field cannot pass for a masked one.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts import services as accounts
from apps.accounts.models import User
from apps.accounts.roles import Role
from apps.audit.models import AuditEntry
from apps.core.exceptions import BusinessRuleViolation
from apps.reviews import services as reviews
from tests.complaints.factories import make_complaint
from tests.customers.factories import ContactFactory, CustomerFactory
from tests.factories import UserFactory
from tests.feedback.factories import PublicFeedbackFactory

PERMISSION = "accounts.view_personal_data"
MASK = "[personal data]"

CONTACT = {
    "name": "Philippa Maskworthy",
    "email": "philippa.maskworthy@mask-test.example",
    "phone": "+49 30 5550142",
}
COMPLAINANT = {
    "complainant_name": "Cornelius Hidewell",
    "complainant_email": "cornelius.hidewell@mask-test.example",
    "description": "MASKTEST-COMPLAINT the valve leaked",
}
SUBMITTER = {
    "submitter_name": "Benedikta Quietly",
    "submitter_email": "benedikta.quietly@mask-test.example",
    "text": "MASKTEST-FEEDBACK the driver was rude",
}
DISTRIBUTION = "board.member@mask-test.example"
SURVEY_TEXT = "MASKTEST-SURVEY call me on 0170 5550199"

# Who holds the permission: quality managers and staff through their role, an auditor only
# when a quality manager gave it to them with a reason.
SEES = {"quality_manager", "staff", "auditor_with_permission"}
MASKED = {"auditor", "external_auditor"}
PERSONAS = sorted(SEES | MASKED)


@pytest.fixture
def people(db, quality_manager, staff, auditor) -> dict[str, User]:
    trusted = UserFactory(email="trusted.auditor@example.com", full_name="Tess Trusted", role=Role.AUDITOR)
    accounts.user_set_capabilities(
        user_id=trusted.pk, permissions={PERMISSION}, actor=quality_manager, reason="Audit of complaint handling"
    )
    external = UserFactory(email="external@example.com", full_name="Xavier External", role=Role.AUDITOR)
    accounts.user_set_access(
        user_id=external.pk, access_until=None, clause_scope=["9.1.2"], actor=quality_manager, reason="9.1.2 audit"
    )
    return {
        "quality_manager": quality_manager,
        "staff": staff,
        "auditor": auditor,
        "auditor_with_permission": User.objects.get(pk=trusted.pk),
        "external_auditor": User.objects.get(pk=external.pk),
    }


@pytest.fixture
def planted(people, settings, tmp_path) -> dict:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    qm, staff = people["quality_manager"], people["staff"]
    customer = CustomerFactory(name="Maskington GmbH")
    contact = ContactFactory(customer=customer, **CONTACT)
    upload = SimpleUploadedFile("cornelius-hidewell-receipt.txt", b"receipt", content_type="text/plain")
    upload.sniffed_type = "text/plain"
    complaint = make_complaint(qm=qm, assignee=staff, customer=customer, attachments=[upload], **COMPLAINANT)
    feedback = PublicFeedbackFactory(**SUBMITTER)
    today = timezone.localdate()
    review = reviews.review_create(
        actor=qm,
        title="Masking review",
        period_start=today - timedelta(days=60),
        period_end=today - timedelta(days=1),
        meeting_date=today,
        chair=qm,
        attendees="Quinn Manager",
        distribution=DISTRIBUTION,
    )
    from apps.surveys.models import Campaign
    from tests.surveys.factories import CampaignFactory
    from tests.surveys.test_responses import make_invitation, make_wave, submit

    campaign = CampaignFactory(status=Campaign.Status.ACTIVE, name="Masking survey")
    submit(make_invitation(make_wave(campaign), customer=customer), nps=3, csat=2, text=SURVEY_TEXT)
    return {
        "campaign": campaign,
        "customer": customer,
        "contact": contact,
        "complaint": complaint,
        "attachment": complaint.attachments.get(),
        "feedback": feedback,
        "review": review,
    }


def _client(user: User, *, api: bool):
    client = APIClient() if api else Client()
    client.force_login(user)
    return client


# (surface, path, API?, the planted values it would show, personas who may open it at all)
SURFACES = [
    ("contact API list", lambda p: "/api/v1/contacts/", True, CONTACT.values(), "internal"),
    ("contact API detail", lambda p: f"/api/v1/contacts/{p['contact'].pk}/", True, CONTACT.values(), "internal"),
    ("customer page", lambda p: f"/customers/{p['customer'].pk}/", False, CONTACT.values(), "internal"),
    ("feedback API list", lambda p: "/api/v1/feedback/", True, [SUBMITTER["text"]], "all"),
    ("feedback API detail", lambda p: f"/api/v1/feedback/{p['feedback'].pk}/", True, [SUBMITTER["text"]], "all"),
    ("feedback list page", lambda p: "/feedback/list/", False, [SUBMITTER["text"]], "all"),
    ("feedback page", lambda p: f"/feedback/{p['feedback'].pk}/", False, SUBMITTER.values(), "all"),
    ("complaint API list", lambda p: "/api/v1/complaints/", True, [COMPLAINANT["description"]], "internal"),
    (
        "complaint API detail",
        lambda p: f"/api/v1/complaints/{p['complaint'].pk}/",
        True,
        [COMPLAINANT["description"]],
        "internal",
    ),
    (
        "complaint page",
        lambda p: f"/complaints/{p['complaint'].pk}/",
        False,
        [*COMPLAINANT.values(), "cornelius-hidewell-receipt.txt"],
        "internal",
    ),
    ("review page", lambda p: f"/reviews/{p['review'].pk}/", False, [DISTRIBUTION], "reviews"),
    (
        "survey results page",
        lambda p: reverse("surveys:campaign_results", args=[p["campaign"].pk]),
        False,
        [SURVEY_TEXT],
        "internal",
    ),
    ("review API detail", lambda p: f"/api/v1/reviews/{p['review'].pk}/", True, [DISTRIBUTION], "reviews"),
]
# Who may open a surface at all: the clause-limited auditor reads only 9.1.2 (feedback), staff
# read no management reviews.
OPENS = {
    "all": set(PERSONAS),
    "internal": set(PERSONAS) - {"external_auditor"},
    "reviews": set(PERSONAS) - {"external_auditor", "staff"},
}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(
    ("surface", "path", "api", "values", "audience"), SURFACES, ids=[surface[0] for surface in SURFACES]
)
def test_personal_values_appear_only_for_holders_of_the_permission(
    people, planted, persona, surface, path, api, values, audience
):
    response = _client(people[persona], api=api).get(path(planted))
    if persona not in OPENS[audience]:
        assert response.status_code in {403, 404}
        return
    assert response.status_code == 200, surface
    body = response.content.decode()
    for value in values:
        if persona in SEES:
            assert value in body, f"{surface}: {value} hidden from {persona}"
        else:
            assert value not in body, f"{surface}: {value} shown to {persona}"
    if persona in MASKED:
        assert MASK in body, f"{surface}: no mask marker for {persona}"


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("quality_manager", 200),
        ("staff", 200),
        ("auditor_with_permission", 200),
        ("auditor", 403),
        ("external_auditor", 403),
    ],
)
def test_complaint_attachments_download_only_with_the_permission(people, planted, persona, expected):
    complaint, attachment = planted["complaint"], planted["attachment"]
    response = _client(people[persona], api=False).get(f"/complaints/{complaint.pk}/attachments/{attachment.pk}/")
    assert response.status_code == expected
    if expected == 200:
        assert b"".join(response.streaming_content) == b"receipt"
        response.close()


def test_contact_list_is_masked_in_a_bounded_number_of_queries(people, planted, django_assert_max_num_queries):
    for _ in range(5):
        ContactFactory(customer=planted["customer"])
    client = _client(people["auditor"], api=True)
    with django_assert_max_num_queries(8):
        rows = client.get("/api/v1/contacts/").json()["results"]
    assert len(rows) >= 6
    assert {row["email"] for row in rows} == {MASK}


def test_feedback_list_is_masked_in_a_bounded_number_of_queries(people, planted, django_assert_max_num_queries):
    for n in range(5):
        PublicFeedbackFactory(text=f"more words {n}")
    client = _client(people["auditor"], api=True)
    with django_assert_max_num_queries(8):
        rows = client.get("/api/v1/feedback/").json()["results"]
    assert len(rows) >= 6
    assert {row["text"] for row in rows} == {MASK}


# --- evidence packs -------------------------------------------------------------------------------


def _pack_csv(actor, clause: str, model: str, **options) -> list[dict]:
    from apps.evidence import services as evidence

    today = timezone.localdate()
    pack = evidence.pack_request(
        actor=actor, clauses=[clause], period_start=today - timedelta(days=30), period_end=today, **options
    )
    pack = evidence.pack_build(pack_id=pack.pk)
    archive = zipfile.ZipFile(evidence.pack_path(pack))
    (name,) = [n for n in archive.namelist() if n.startswith(f"records/{model}--") and n.endswith(".csv")]
    return list(csv.DictReader(io.StringIO(archive.read(name).decode())))


@pytest.fixture
def held_review(planted, people):
    from tests.reviews.conftest import compiled

    review = planted["review"]
    compiled(people["quality_manager"], review)
    reviews.review_hold(
        review_id=review.pk, actor=people["quality_manager"], held_on=timezone.localdate(), attendees="Quinn Manager"
    )
    return review


@pytest.mark.parametrize(
    ("persona", "include", "shown"),
    [
        ("quality_manager", True, True),
        ("quality_manager", False, False),
        ("auditor_with_permission", True, True),
        ("auditor_with_permission", False, False),
        ("auditor", False, False),
    ],
)
def test_packs_mask_review_distribution_lists_unless_personal_data_is_included(
    people, held_review, persona, include, shown
):
    (row,) = _pack_csv(people[persona], "9.3", "reviews.managementreview", include_personal_data=include)
    assert row["distribution"] == (DISTRIBUTION if shown else MASK)


@pytest.mark.parametrize("persona", ["auditor", "external_auditor"])
def test_an_auditor_without_the_permission_cannot_include_personal_data_in_a_pack(people, planted, persona):
    with pytest.raises(BusinessRuleViolation, match="personal data"):
        _pack_csv(people[persona], "9.1.2", "feedback.feedback", include_personal_data=True)


def test_an_auditor_with_the_permission_takes_the_feedback_text_in_clear(people, planted):
    rows = _pack_csv(people["auditor_with_permission"], "9.1.2", "feedback.feedback", include_personal_data=True)
    texts = {row["text"] for row in rows}
    assert SUBMITTER["text"] in texts
    assert MASK not in texts


# --- granting the permission ----------------------------------------------------------------------


def test_granting_the_permission_to_an_auditor_needs_a_reason(quality_manager, auditor):
    with pytest.raises(BusinessRuleViolation, match="reason"):
        accounts.user_set_capabilities(user_id=auditor.pk, permissions={PERMISSION}, actor=quality_manager, reason=" ")
    assert not User.objects.get(pk=auditor.pk).has_perm(PERMISSION)


def test_granting_the_permission_is_audited_with_its_reason(quality_manager, auditor):
    accounts.user_set_capabilities(
        user_id=auditor.pk, permissions={PERMISSION}, actor=quality_manager, reason="Sampling complaint replies"
    )
    assert User.objects.get(pk=auditor.pk).has_perm(PERMISSION)
    entry = AuditEntry.objects.filter(object_id=str(auditor.pk), action=AuditEntry.Action.ROLE_CHANGE).latest("seq")
    assert entry.reason == "Sampling complaint replies"
    assert entry.changes["capabilities"] == [[], [PERMISSION]]


def _people_form(user: User, **changes) -> dict:
    return {
        "full_name": user.full_name,
        "role": user.role,
        "is_active": "on",
        "access_until": "",
        "capabilities": [PERMISSION],
        "reason": "",
        **changes,
    }


@pytest.mark.parametrize(
    ("persona", "reason", "expected", "granted"),
    [
        ("quality_manager", "", 200, False),
        ("quality_manager", "Sampling complaint replies", 302, True),
        ("staff", "Sampling complaint replies", 403, False),
        ("auditor", "Sampling complaint replies", 403, False),
    ],
)
def test_the_people_page_grants_the_permission_to_an_auditor_only_with_a_reason(
    clients, auditor, persona, reason, expected, granted
):
    target = UserFactory(email="new.auditor@example.com", full_name="Nia New", role=Role.AUDITOR)
    response = clients[persona].post(f"/accounts/users/{target.pk}/", _people_form(target, reason=reason))
    assert response.status_code == expected
    assert User.objects.get(pk=target.pk).has_perm(PERMISSION) is granted


def test_the_people_page_offers_the_permission_for_auditors(clients, auditor):
    html = clients["quality_manager"].get(f"/accounts/users/{auditor.pk}/").content.decode()
    assert f'value="{PERMISSION}"' in html


@pytest.mark.parametrize(("role", "holds"), [(Role.QUALITY_MANAGER, True), (Role.STAFF, True), (Role.AUDITOR, False)])
def test_roles_hold_the_permission_as_documented(db, role, holds):
    assert UserFactory(role=role).has_perm(PERMISSION) is holds
