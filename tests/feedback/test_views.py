import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from apps.feedback import services
from apps.feedback.models import Feedback
from tests.feedback.factories import CategoryFactory, CustomerFactory, FeedbackFactory, ProductFactory

Status = Feedback.Status
XSS = '<script>alert("x")</script>'
VALID = {"text": "Lovely product", "rating": "5", "submitter_name": "", "submitter_email": "", "website": ""}


# The public form ------------------------------------------------------------------------


def test_public_form_works_for_anonymous_visitors(clients, db):
    product = ProductFactory(code="PUMP-1")
    response = clients["anonymous"].get("/feedback/?product=PUMP-1")
    assert response.status_code == 200
    assert response.context["form"].initial["product"] == "PUMP-1"
    assert b'class="hp-field"' in response.content
    assert b"csrfmiddlewaretoken" in response.content
    assert product.name in response.content.decode()


def test_valid_submission_redirects_to_thanks_with_its_reference_once(clients, db):
    client = clients["anonymous"]
    response = client.post("/feedback/", {**VALID, "product": ""})
    assert response.status_code == 302
    assert response.url == reverse("feedback:thanks")
    feedback = Feedback.objects.get()
    assert (feedback.channel, feedback.rating, feedback.recorded_by) == ("web_form", 5, None)
    thanks = client.get(response.url)
    assert feedback.reference in thanks.content.decode()
    # The reference is shown to this session once; a reload or another visitor sees none.
    assert feedback.reference not in client.get(response.url).content.decode()
    from django.test import Client

    assert feedback.reference not in Client().get(response.url).content.decode()
    # Neither a forged cookie nor a session: the public form writes no session row.
    client.cookies["qms_feedback_thanks"] = feedback.reference
    assert feedback.reference not in client.get(response.url).content.decode()
    assert settings.SESSION_COOKIE_NAME not in client.cookies


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"text": ""}, "text"),
        ({"rating": "9"}, "rating"),
        ({"submitter_email": "not-an-email"}, "submitter_email"),
        ({"consent_to_contact": "on"}, "submitter_email"),
        ({"product": "NO-SUCH"}, "product"),
        ({"website": "http://spam.example"}, "website"),
    ],
)
def test_invalid_submission_shows_the_error_and_stores_nothing(clients, db, data, field):
    response = clients["anonymous"].post("/feedback/", {**VALID, **data})
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not Feedback.objects.exists()


def test_consent_with_email_is_accepted_and_dated(clients, db):
    data = {**VALID, "submitter_email": "pat@example.com", "consent_to_contact": "on"}
    assert clients["anonymous"].post("/feedback/", data).status_code == 302
    feedback = Feedback.objects.get()
    assert feedback.consent_to_contact
    assert feedback.consent_at is not None
    assert feedback.submitter_email == "pat@example.com"


def test_rate_limit_per_client_address_answers_429(clients, db, settings):
    settings.FEEDBACK_PUBLIC_RATE_LIMIT = 2
    client = clients["anonymous"]
    codes = [client.post("/feedback/", VALID, REMOTE_ADDR="198.51.100.9").status_code for _ in range(3)]
    assert codes == [302, 302, 429]
    assert Feedback.objects.count() == 2
    assert client.post("/feedback/", VALID, REMOTE_ADDR="198.51.100.10").status_code == 302


def test_public_text_is_escaped_on_staff_pages(clients, db, quality_manager):
    clients["anonymous"].post("/feedback/", {**VALID, "text": XSS, "submitter_name": XSS})
    feedback = Feedback.objects.get()
    for url in ["/feedback/list/", f"/feedback/{feedback.pk}/", "/feedback/triage/"]:
        content = clients["quality_manager"].get(url).content.decode()
        assert XSS not in content, url
        assert "&lt;script&gt;" in content, url


# Permissions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "list_", "record", "triage", "categories"),
    [
        ("quality_manager", 200, 200, 200, 200),
        ("staff", 200, 200, 403, 403),
        ("auditor", 200, 403, 403, 403),
        ("anonymous", 302, 302, 302, 302),
    ],
)
def test_staff_pages_role_matrix(clients, persona, list_, record, triage, categories):
    urls = ["/feedback/list/", "/feedback/record/", "/feedback/triage/", "/feedback/categories/"]
    codes = [clients[persona].get(url).status_code for url in urls]
    assert codes == [list_, record, triage, categories]
    if persona == "anonymous":
        assert clients[persona].get(urls[0]).url.startswith(reverse("accounts:login"))


@pytest.mark.parametrize(("persona", "expected"), [("staff", 200), ("auditor", 200), ("anonymous", 302)])
def test_detail_is_readable_by_every_role(clients, others_feedback, persona, expected):
    assert clients[persona].get(f"/feedback/{others_feedback.pk}/").status_code == expected


@pytest.mark.parametrize(
    ("persona", "expected"), [("quality_manager", 302), ("staff", 403), ("auditor", 403), ("anonymous", 302)]
)
def test_only_owner_or_quality_manager_closes(clients, others_feedback, persona, expected):
    response = clients[persona].post(f"/feedback/{others_feedback.pk}/close/", {"reason": "done"})
    assert response.status_code == expected
    closed = Feedback.objects.get(pk=others_feedback.pk).status == Status.CLOSED
    assert closed is (persona == "quality_manager")


@pytest.mark.parametrize(
    ("persona", "expected"), [("quality_manager", 302), ("staff", 403), ("auditor", 403), ("anonymous", 302)]
)
def test_raise_action_page_refuses_anothers_feedback(clients, others_feedback, persona, expected):
    response = clients[persona].post(f"/feedback/{others_feedback.pk}/raise-action/", {"title": "Fix it"})
    assert response.status_code == expected
    actioned = Feedback.objects.get(pk=others_feedback.pk).status == Status.ACTIONED
    assert actioned is (persona == "quality_manager")


@pytest.mark.parametrize(("persona", "expected"), [("staff", 403), ("auditor", 403)])
def test_triage_and_convert_are_reserved_to_quality_managers(clients, own_feedback, category, persona, expected):
    prefix = f"t{own_feedback.pk}"
    triage = clients[persona].post(
        f"/feedback/{own_feedback.pk}/triage/", {f"{prefix}-category": category.pk, f"{prefix}-sentiment": "neutral"}
    )
    convert = clients[persona].post(f"/feedback/{own_feedback.pk}/convert/")
    assert (triage.status_code, convert.status_code) == (expected, expected)
    assert Feedback.objects.get(pk=own_feedback.pk).status == Status.NEW


def test_unknown_feedback_is_404(clients):
    assert clients["quality_manager"].get("/feedback/999999/").status_code == 404
    assert clients["quality_manager"].post("/feedback/999999/close/").status_code == 404


# Staff workflow ------------------------------------------------------------------------


def test_staff_record_feedback_from_a_phone_call(clients, staff):
    customer = CustomerFactory()
    data = {"channel": "phone", "customer": customer.pk, "text": "Happy with the new pump", "rating": "4"}
    response = clients["staff"].post("/feedback/record/", {**data, "owner": staff.pk})
    feedback = Feedback.objects.get()
    assert response.status_code == 302
    assert response.url == f"/feedback/{feedback.pk}/"
    assert (feedback.customer, feedback.owner, feedback.sentiment) == (customer, staff, "positive")


def test_record_form_requires_a_way_to_contact_when_consent_ticked(clients, staff):
    data = {"channel": "phone", "text": "Call me back", "consent_to_contact": "on", "owner": staff.pk}
    response = clients["staff"].post("/feedback/record/", data)
    assert response.status_code == 200
    assert "submitter_email" in response.context["form"].errors
    assert not Feedback.objects.exists()


def test_quality_manager_triages_from_the_board(clients, own_feedback, category, staff):
    prefix = f"t{own_feedback.pk}"
    data = {f"{prefix}-category": category.pk, f"{prefix}-sentiment": "negative", f"{prefix}-owner": staff.pk}
    response = clients["quality_manager"].post(f"/feedback/{own_feedback.pk}/triage/", {**data, "next": "triage"})
    assert response.status_code == 302
    assert response.url == reverse("feedback:triage")
    feedback = Feedback.objects.get(pk=own_feedback.pk)
    assert (feedback.status, feedback.category, feedback.sentiment) == (Status.TRIAGED, category, "negative")


def test_refused_transition_is_shown_as_an_error(clients, own_feedback, quality_manager):
    services.feedback_close(feedback_id=own_feedback.pk, actor=quality_manager)
    response = clients["quality_manager"].post(f"/feedback/{own_feedback.pk}/close/", follow=True)
    assert "cannot go from Closed to Closed" in response.content.decode()


def test_detail_links_to_complaint_and_actions(clients, own_feedback, quality_manager, staff):
    services.feedback_raise_action(feedback_id=own_feedback.pk, actor=staff, title="Fix packaging")
    response = clients["quality_manager"].post(f"/feedback/{own_feedback.pk}/convert/")
    assert response.status_code == 302
    feedback = Feedback.objects.select_related("complaint").get(pk=own_feedback.pk)
    content = clients["quality_manager"].get(f"/feedback/{own_feedback.pk}/").content.decode()
    assert feedback.complaint.reference in content
    assert "Fix packaging" in content
    assert 'id="history-heading"' in content


def test_navigation_and_customer_panel(clients, staff):
    customer = CustomerFactory()
    feedback = FeedbackFactory(actor=staff, customer=customer, text="Panel feedback")
    qm_nav = clients["quality_manager"].get("/feedback/list/").content.decode()
    staff_nav = clients["staff"].get("/feedback/list/").content.decode()
    assert reverse("feedback:triage") in qm_nav
    assert reverse("feedback:triage") not in staff_nav
    assert "Panel feedback" in clients["staff"].get(f"/customers/{customer.pk}/").content.decode()
    # The auditor finds the feedback in the panel, its words masked (#22 §8).
    page = clients["auditor"].get(f"/customers/{customer.pk}/").content.decode()
    assert feedback.reference in page
    assert "Panel feedback" not in page
    assert "[personal data]" in page


# Bounded queries -----------------------------------------------------------------------


@pytest.mark.parametrize("rows", [5, 40])
@pytest.mark.parametrize(
    ("url", "persona", "bound"), [("/feedback/list/", "staff", 10), ("/feedback/triage/", "quality_manager", 11)]
)
def test_pages_run_a_bounded_number_of_queries(
    clients, staff, other_staff, quality_manager, django_assert_max_num_queries, rows, url, persona, bound
):
    customer, product, category = CustomerFactory(), ProductFactory(), CategoryFactory()
    for n in range(rows):
        feedback = FeedbackFactory(actor=staff if n % 2 else other_staff, customer=customer, product=product)
        if n % 3 == 0:
            services.feedback_triage(feedback_id=feedback.pk, actor=quality_manager, category=category)
    # Session, user, permissions, menu, count, page, filter choices (list) or the two columns
    # plus category and owner choices once and each column's capped total (board): the same for
    # 5 rows or 40.
    with django_assert_max_num_queries(bound):
        response = clients[persona].get(url)
    assert response.status_code == 200


@pytest.mark.parametrize("steps", [1, 6])
def test_detail_runs_a_bounded_number_of_queries(clients, staff, quality_manager, django_assert_max_num_queries, steps):
    feedback = FeedbackFactory(actor=staff)
    for n in range(steps):
        services.feedback_raise_action(feedback_id=feedback.pk, actor=staff, title=f"Action {n}")
    # 10: the customer-link panel's customer choices are one query (#24).
    with django_assert_max_num_queries(10):
        response = clients["quality_manager"].get(f"/feedback/{feedback.pk}/")
    assert response.status_code == 200


def test_quality_manager_manages_categories(clients):
    response = clients["quality_manager"].post("/feedback/categories/", {"name": "Delivery", "description": ""})
    assert response.status_code == 302
    from apps.feedback.models import FeedbackCategory

    category = FeedbackCategory.objects.get(name="Delivery")
    clients["quality_manager"].post("/feedback/categories/", {"toggle": category.pk})
    assert FeedbackCategory.objects.get(pk=category.pk).is_active is False
    duplicate = clients["quality_manager"].post("/feedback/categories/", {"name": "delivery"})
    assert duplicate.status_code == 200
    assert "name" in duplicate.context["form"].errors
    assert clients["staff"].post("/feedback/categories/", {"name": "Sneaky"}).status_code == 403


def test_list_filters_by_status_date_and_search(clients, staff, quality_manager, category):
    wanted = FeedbackFactory(actor=staff, text="Invoice number missing")
    FeedbackFactory(actor=staff, text="Great hotline")
    services.feedback_triage(feedback_id=wanted.pk, actor=quality_manager, category=category)
    # The filter reads dates in the portal's time zone: between 23:00 and 24:00 UTC Berlin is a day ahead.
    today = timezone.localdate(wanted.created_at).isoformat()
    for query in [
        "status=triaged",
        f"category={category.pk}",
        f"q={wanted.reference}",
        f"received_from={today}&received_to={today}&sentiment=negative&status=triaged",
    ]:
        rows = list(clients["staff"].get(f"/feedback/list/?{query}").context["object_list"])
        assert rows == [wanted], query
    assert len(clients["staff"].get("/feedback/list/?received_to=2000-01-01").context["object_list"]) == 0


@pytest.mark.parametrize(
    ("persona", "status", "erased"),
    [("quality_manager", 302, True), ("staff", 403, False), ("auditor", 403, False), ("anonymous", 302, False)],
)
def test_erase_page_by_role(clients, persona, status, erased):
    from tests.feedback.factories import PublicFeedbackFactory

    feedback = PublicFeedbackFactory(text="Call me on 0151 4711", submitter_name="Pat")
    response = clients[persona].post(f"/feedback/{feedback.pk}/erase/", {"reason": "The person asked"})
    assert response.status_code == status
    feedback.refresh_from_db()
    assert (feedback.erased_at is not None) is erased
    if erased:
        page = clients[persona].get(f"/feedback/{feedback.pk}/").content.decode()
        assert "4711" not in page
        assert "Personal data erased on" in page
        assert 'data-testid="erase-form"' not in page


def test_feedback_to_call_back_is_marked_on_the_triage_board_and_its_page(clients):
    from apps.feedback.services import feedback_record_for_customer
    from tests.customers.factories import CustomerFactory

    customer = CustomerFactory()
    feedback = feedback_record_for_customer(
        channel="survey", text="NPS 2 of 10 in the spring survey", customer=customer, call_back=True
    )
    feedback_record_for_customer(channel="survey", text="CSAT 3", customer=customer)
    board = clients["quality_manager"].get("/feedback/triage/").content.decode()
    assert board.count('data-testid="call-back"') == 1
    page = clients["quality_manager"].get(f"/feedback/{feedback.pk}/").content.decode()
    assert 'data-testid="call-back"' in page
