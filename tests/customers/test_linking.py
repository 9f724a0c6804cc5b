"""Complaints and feedback tied to the customer and contact they came from (#24): the match
through the e-mail blind index, the audited link, the pages, the API and the roll-ups."""

from __future__ import annotations

import unicodedata

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.audit.models import AuditEntry
from apps.complaints.linking import complaint_link_customer
from apps.complaints.models import Complaint
from apps.customers.linking import contacts_matching_email
from apps.feedback.linking import feedback_link_customer
from tests.complaints.factories import make_complaint
from tests.customers.factories import ContactFactory, CustomerFactory
from tests.feedback.factories import FeedbackFactory, PublicFeedbackFactory

EMAIL = "k.vogel@nordwind.example"


@pytest.fixture
def complaint(contact, quality_manager, staff):
    """A public complaint sent from the contact's address, assigned to `staff`, linked to nobody."""
    return make_complaint(qm=quality_manager, assignee=staff, complainant_email=EMAIL, customer_name="Nordwind")


@pytest.fixture
def other_customer(db):
    return CustomerFactory(name="Südwind Handel AG", segment="Retail")


@pytest.fixture
def other_contact(other_customer):
    return ContactFactory(customer=other_customer, name="Jürgen Öztürk", email="jürgen@südwind.example")


def _entries(record) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(object_id=str(record.pk), object_label=record.audit_label(), action="update")
        .exclude(changes={})
        .order_by("seq")
    )


# --- the match ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        EMAIL,
        "  K.Vogel@NORDWIND.example ",
        "K.VOGEL@NORDWIND.EXAMPLE",
    ],
)
def test_the_blind_index_matches_case_and_space_variants(contact, typed):
    assert contacts_matching_email(typed) == [contact]


@pytest.mark.parametrize(
    "typed",
    [
        "JÜRGEN@SÜDWIND.EXAMPLE",  # upper-case umlauts: lower() folds them like the index does
        unicodedata.normalize("NFD", "jürgen@südwind.example"),  # "u" + combining diaeresis
        unicodedata.normalize("NFD", "JÜRGEN@südwind.example"),
        "ｊürgen@südwind.example",  # a full-width "j"  # noqa: RUF001
    ],
)
def test_the_match_finds_unicode_variants_of_the_address(other_contact, typed):
    assert contacts_matching_email(typed) == [other_contact]


@pytest.mark.parametrize(
    "typed", ["k.vogel@nordwind.example.com", "k.vogel@nordwind.exampl", "", "kvogel@nordwind.example"]
)
def test_a_different_address_matches_nobody(contact, typed):
    assert contacts_matching_email(typed) == []


def test_an_erased_contact_is_never_proposed(contact, quality_manager):
    from apps.customers import services

    services.contact_erase(contact_id=contact.pk, actor=quality_manager, reason="Asked to be forgotten")
    assert contacts_matching_email(EMAIL) == []


# --- the service -------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["staff", "quality_manager"])
def test_linking_a_complaint_sets_customer_and_contact_and_is_audited(complaint, customer, contact, personas, persona):
    actor = personas[persona]
    linked = complaint_link_customer(
        complaint_id=complaint.pk, customer=customer, contact=contact, actor=actor, reason="Same e-mail"
    )
    assert (linked.customer_id, linked.contact_id) == (customer.pk, contact.pk)
    complaint.refresh_from_db()
    assert (complaint.customer_id, complaint.contact_id) == (customer.pk, contact.pk)
    [entry] = _entries(complaint)[-1:]
    assert entry.actor_id == actor.pk
    assert entry.changes == {"customer": [None, customer.pk], "contact": [None, contact.pk]}
    assert entry.reason == "Same e-mail"


@pytest.mark.parametrize("persona", ["auditor", "other_staff"])
def test_auditors_and_colleagues_may_not_link_a_complaint(complaint, customer, contact, personas, persona):
    before = AuditEntry.objects.count()
    with pytest.raises(PermissionDenied):
        complaint_link_customer(complaint_id=complaint.pk, customer=customer, contact=contact, actor=personas[persona])
    complaint.refresh_from_db()
    assert complaint.customer_id is None
    assert AuditEntry.objects.count() == before


def test_a_contact_of_another_customer_is_refused_and_nothing_is_written(complaint, customer, other_contact, staff):
    before = AuditEntry.objects.count()
    with pytest.raises(ValidationError) as error:
        complaint_link_customer(complaint_id=complaint.pk, customer=customer, contact=other_contact, actor=staff)
    assert error.value.message_dict == {"contact": ["The contact does not belong to this customer."]}
    complaint.refresh_from_db()
    assert (complaint.customer_id, complaint.contact_id) == (None, None)
    assert AuditEntry.objects.count() == before


def test_a_contact_alone_implies_its_customer(complaint, customer, contact, staff):
    linked = complaint_link_customer(complaint_id=complaint.pk, customer=None, contact=contact, actor=staff)
    assert linked.customer_id == customer.pk


def test_unlinking_and_relinking_are_audited(complaint, customer, contact, other_customer, other_contact, staff):
    complaint_link_customer(complaint_id=complaint.pk, customer=customer, contact=contact, actor=staff)
    complaint_link_customer(complaint_id=complaint.pk, customer=None, contact=None, actor=staff, reason="Wrong one")
    complaint_link_customer(complaint_id=complaint.pk, customer=other_customer, contact=other_contact, actor=staff)
    changes = [entry.changes for entry in _entries(complaint)][-3:]
    assert changes == [
        {"customer": [None, customer.pk], "contact": [None, contact.pk]},
        {"customer": [customer.pk, None], "contact": [contact.pk, None]},
        {"customer": [None, other_customer.pk], "contact": [None, other_contact.pk]},
    ]


def test_linking_again_to_the_same_contact_writes_nothing(complaint, customer, contact, staff):
    complaint_link_customer(complaint_id=complaint.pk, customer=customer, contact=contact, actor=staff)
    before = AuditEntry.objects.count()
    complaint_link_customer(complaint_id=complaint.pk, customer=customer, contact=contact, actor=staff)
    assert AuditEntry.objects.count() == before


def test_a_closed_complaint_can_still_be_attributed_to_its_customer(quality_manager, customer, contact):
    closed = make_complaint(qm=quality_manager, status=Complaint.Status.CLOSED, complainant_email=EMAIL)
    complaint_link_customer(complaint_id=closed.pk, customer=customer, contact=contact, actor=quality_manager)
    closed.refresh_from_db()
    assert closed.customer_id == customer.pk


@pytest.mark.parametrize(("persona", "allowed"), [("staff", True), ("other_staff", False), ("auditor", False)])
def test_feedback_is_linked_by_its_owner_only(staff, customer, contact, personas, persona, allowed):
    feedback = FeedbackFactory(actor=staff, submitter_email=EMAIL)
    call = lambda: feedback_link_customer(  # noqa: E731
        feedback_id=feedback.pk, customer=customer, contact=contact, actor=personas[persona]
    )
    if not allowed:
        with pytest.raises(PermissionDenied):
            call()
        return
    call()
    feedback.refresh_from_db()
    assert (feedback.customer_id, feedback.contact_id) == (customer.pk, contact.pk)
    assert _entries(feedback)[-1].changes == {"customer": [None, customer.pk], "contact": [None, contact.pk]}


# --- the pages ---------------------------------------------------------------------------------


def test_the_customer_page_said_no_complaints_for_a_customer_who_complained(clients, complaint, customer):
    """The defect: the complaint came from the customer's contact, the page did not know."""
    page = clients["quality_manager"].get(f"/customers/{customer.pk}/").content.decode()
    assert "No complaints from this customer." in page
    assert complaint.reference not in page


def test_staff_confirm_the_proposed_match_and_the_customer_page_lists_the_complaint(
    clients, complaint, customer, contact
):
    detail = clients["staff"].get(f"/complaints/{complaint.pk}/").content.decode()
    assert "Proposed match:" in detail
    assert f"<strong>{customer.name}</strong> / {contact.name}" in detail

    response = clients["staff"].post(
        f"/complaints/{complaint.pk}/customer/", {"customer": customer.pk, "contact": contact.pk}
    )
    assert response.status_code == 302
    complaint.refresh_from_db()
    assert (complaint.customer_id, complaint.contact_id) == (customer.pk, contact.pk)
    detail = clients["staff"].get(f"/complaints/{complaint.pk}/").content.decode()
    assert "Proposed match:" not in detail
    assert "Linked to" in detail

    page = clients["quality_manager"].get(f"/customers/{customer.pk}/").content.decode()
    assert complaint.reference in page
    assert "No complaints from this customer." not in page


def test_no_proposal_for_an_address_no_contact_has(clients, quality_manager, staff, contact):
    stranger = make_complaint(qm=quality_manager, assignee=staff, complainant_email="someone@else.example")
    detail = clients["staff"].get(f"/complaints/{stranger.pk}/").content.decode()
    assert "Proposed match:" not in detail
    assert "Not linked to a customer yet." in detail


def test_auditors_see_no_link_form_and_are_refused_the_link(clients, complaint, customer, contact):
    detail = clients["auditor"].get(f"/complaints/{complaint.pk}/").content.decode()
    assert "Proposed match:" not in detail
    response = clients["auditor"].post(
        f"/complaints/{complaint.pk}/customer/", {"customer": customer.pk, "contact": contact.pk}
    )
    assert response.status_code == 403
    complaint.refresh_from_db()
    assert complaint.customer_id is None


def test_a_colleagues_complaint_is_not_found(clients, complaint, customer):
    response = clients["other_staff"].post(f"/complaints/{complaint.pk}/customer/", {"customer": customer.pk})
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Choose the customer this came from."),
        ({"customer": "999999"}, "Select a valid choice."),
        ("other_contact", "The contact does not belong to this customer."),
    ],
)
def test_bad_link_input_is_explained_and_changes_nothing(clients, complaint, customer, other_contact, data, message):
    if data == "other_contact":
        data = {"customer": customer.pk, "contact": other_contact.pk}
    response = clients["staff"].post(f"/complaints/{complaint.pk}/customer/", data, follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page
    assert "{&#x27;" not in page  # the sentence, not a field dictionary
    complaint.refresh_from_db()
    assert (complaint.customer_id, complaint.contact_id) == (None, None)


def test_the_unlink_button_unlinks(clients, complaint, customer, contact, staff):
    complaint_link_customer(complaint_id=complaint.pk, customer=customer, contact=contact, actor=staff)
    clients["staff"].post(f"/complaints/{complaint.pk}/customer/", {"unlink": "1"})
    complaint.refresh_from_db()
    assert (complaint.customer_id, complaint.contact_id) == (None, None)


def test_public_feedback_gets_the_proposal_and_staff_confirm_it(clients, customer, contact):
    feedback = PublicFeedbackFactory(submitter_email=EMAIL.upper(), consent_to_contact=True)
    detail = clients["quality_manager"].get(f"/feedback/{feedback.pk}/").content.decode()
    assert "Proposed match:" in detail
    response = clients["quality_manager"].post(
        f"/feedback/{feedback.pk}/customer/", {"customer": customer.pk, "contact": contact.pk}
    )
    assert response.status_code == 302
    feedback.refresh_from_db()
    assert (feedback.customer_id, feedback.contact_id) == (customer.pk, contact.pk)
    page = clients["auditor"].get(f"/customers/{customer.pk}/").content.decode()
    assert feedback.reference in page


@pytest.mark.parametrize(("persona", "expected"), [("auditor", 403), ("other_staff", 403), ("staff", 302)])
def test_feedback_link_page_step_by_role(clients, staff, customer, contact, persona, expected):
    feedback = FeedbackFactory(actor=staff)
    response = clients[persona].post(
        f"/feedback/{feedback.pk}/customer/", {"customer": customer.pk, "contact": contact.pk}
    )
    assert response.status_code == expected
    feedback.refresh_from_db()
    assert (feedback.customer_id == customer.pk) is (expected == 302)


# --- open a complaint from the customer's page --------------------------------------------------


def test_the_customer_page_offers_to_open_a_complaint(clients, customer):
    page = clients["staff"].get(f"/customers/{customer.pk}/").content.decode()
    assert f"/complaints/record/customer/{customer.pk}/" in page
    assert f"/complaints/record/customer/{customer.pk}/" not in (
        clients["auditor"].get(f"/customers/{customer.pk}/").content.decode()
    )


def test_a_complaint_opened_from_the_customer_page_belongs_to_customer_and_contact(
    clients, customer, contact, other_contact
):
    url = f"/complaints/record/customer/{customer.pk}/"
    form = clients["staff"].get(url)
    assert form.status_code == 200
    choices = {c.pk for c in form.context["form"].fields["contact"].queryset}
    assert choices == {contact.pk}  # only this customer's contacts
    response = clients["quality_manager"].post(
        url, {"channel": "phone", "contact": contact.pk, "description": "The pallet was short by two boxes."}
    )
    assert response.status_code == 302
    complaint = Complaint.objects.get()
    assert (complaint.customer_id, complaint.contact_id) == (customer.pk, contact.pk)
    assert complaint.complainant_email == contact.email
    assert complaint.complainant_name == contact.name
    assert complaint.reference in clients["quality_manager"].get(f"/customers/{customer.pk}/").content.decode()


def test_opening_a_complaint_without_contact_or_address_is_explained(clients, customer, other_contact):
    url = f"/complaints/record/customer/{customer.pk}/"
    response = clients["staff"].post(url, {"channel": "phone", "description": "Short delivery."})
    assert response.status_code == 200
    assert response.context["form"].errors["complainant_email"] == ["Choose a contact or fill this in."]
    response = clients["staff"].post(
        url, {"channel": "phone", "contact": other_contact.pk, "description": "Short delivery."}
    )
    assert response.status_code == 200
    assert "contact" in response.context["form"].errors
    assert not Complaint.objects.exists()


@pytest.mark.parametrize(("persona", "expected"), [("auditor", 403), ("staff", 200), ("quality_manager", 200)])
def test_opening_a_complaint_for_a_customer_by_role(clients, customer, persona, expected):
    assert clients[persona].get(f"/complaints/record/customer/{customer.pk}/").status_code == expected


@pytest.mark.parametrize("rows", [2, 14])
def test_the_customer_page_lists_complaints_feedback_and_scores_in_bounded_queries(
    clients, customer, contact, quality_manager, staff, rows, django_assert_max_num_queries
):
    for n in range(rows):
        made = make_complaint(qm=quality_manager, complainant_email=EMAIL, description=f"Broken {n}")
        complaint_link_customer(complaint_id=made.pk, customer=customer, contact=contact, actor=quality_manager)
        FeedbackFactory(actor=staff, customer=customer, contact=contact)
    # The same number however many there are: the page shows the latest ten and links to the rest.
    with django_assert_max_num_queries(15):
        response = clients["quality_manager"].get(f"/customers/{customer.pk}/")
    page = response.content.decode()
    complaints = page.split('data-testid="complaints"')[1].split("</section>")[0]
    assert complaints.count("<tr><td>") == min(rows, 10)
    assert f"/complaints/?customer={customer.pk}" in page
    assert f"/feedback/list/?customer={customer.pk}" in page
    listed = clients["quality_manager"].get(f"/complaints/?customer={customer.pk}")
    assert len(listed.context["object_list"]) == rows
    assert f"Only the records of {customer.name}." in listed.content.decode()


def test_the_see_all_lists_hold_only_that_customers_records(clients, customer, contact, other_customer, staff):
    mine = FeedbackFactory(actor=staff, customer=customer)
    FeedbackFactory(actor=staff, customer=other_customer)
    listed = clients["staff"].get(f"/feedback/list/?customer={customer.pk}")
    assert [f.pk for f in listed.context["object_list"]] == [mine.pk]
    assert f"Only the records of {customer.name}." in listed.content.decode()
    assert "Only the records of" not in clients["staff"].get("/feedback/list/").content.decode()


# --- the API -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "expected"), [("quality_manager", 200), ("staff", 200), ("other_staff", 404), ("auditor", 403)]
)
def test_api_links_a_complaint_by_role(api_clients, complaint, customer, contact, persona, expected):
    response = api_clients[persona].post(
        f"/api/v1/complaints/{complaint.pk}/link-customer/",
        {"customer": customer.pk, "contact": contact.pk},
        format="json",
    )
    assert response.status_code == expected
    complaint.refresh_from_db()
    assert (complaint.customer_id == customer.pk) is (expected == 200)
    if expected == 200:
        assert response.json()["customer"] == customer.pk


@pytest.mark.parametrize(
    ("payload", "field"),
    [({}, "customer"), ({"customer": 999999}, "customer"), ({"customer": "x"}, "customer"), ("other", "contact")],
)
def test_api_refuses_bad_link_input_with_json(api_clients, complaint, customer, other_contact, payload, field):
    if payload == "other":
        payload = {"customer": customer.pk, "contact": other_contact.pk}
    response = api_clients["staff"].post(f"/api/v1/complaints/{complaint.pk}/link-customer/", payload, format="json")
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "invalid"
    assert field in body["fields"]
    complaint.refresh_from_db()
    assert complaint.customer_id is None


def test_api_unlinks_with_a_null_customer(api_clients, complaint, customer, contact, staff):
    complaint_link_customer(complaint_id=complaint.pk, customer=customer, contact=contact, actor=staff)
    response = api_clients["staff"].post(
        f"/api/v1/complaints/{complaint.pk}/link-customer/", {"customer": None}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["customer"] is None


@pytest.mark.parametrize(("persona", "expected"), [("staff", 200), ("other_staff", 403), ("auditor", 403)])
def test_api_links_feedback_by_role(api_clients, staff, customer, contact, persona, expected):
    feedback = FeedbackFactory(actor=staff)
    response = api_clients[persona].post(
        f"/api/v1/feedback/{feedback.pk}/link-customer/",
        {"customer": customer.pk, "contact": contact.pk},
        format="json",
    )
    assert response.status_code == expected
    feedback.refresh_from_db()
    assert (feedback.customer_id == customer.pk) is (expected == 200)


# --- roll-ups by segment -----------------------------------------------------------------------


def test_segment_roll_ups_count_linked_complaints_and_feedback(
    complaint, other_customer, other_contact, staff, quality_manager
):
    from django.db.models import Sum

    from apps.analytics import services as analytics
    from apps.analytics.models import ComplaintDaily, FeedbackDaily

    feedback = PublicFeedbackFactory()
    analytics.rebuild()

    def retail() -> tuple[int, int]:
        complaints = ComplaintDaily.objects.filter(segment="Retail").aggregate(n=Sum("received"))["n"] or 0
        feedback_n = FeedbackDaily.objects.filter(segment="Retail").aggregate(n=Sum("n"))["n"] or 0
        return complaints, feedback_n

    assert retail() == (0, 0)
    complaint_link_customer(complaint_id=complaint.pk, customer=other_customer, contact=other_contact, actor=staff)
    feedback_link_customer(feedback_id=feedback.pk, customer=other_customer, contact=None, actor=quality_manager)
    while analytics.refresh().markers:
        pass
    assert retail() == (1, 1)
