import pytest

from apps.feedback import services
from apps.feedback.models import Feedback
from tests.feedback.factories import CustomerFactory, FeedbackFactory, ProductFactory, PublicFeedbackFactory

Status = Feedback.Status
BASE = "/api/v1/feedback/"


@pytest.mark.parametrize(
    ("persona", "expected"), [("quality_manager", 200), ("staff", 200), ("auditor", 200), ("anonymous", 401)]
)
def test_list_and_retrieve_matrix(api_clients, others_feedback, persona, expected):
    assert api_clients[persona].get(BASE).status_code == expected
    assert api_clients[persona].get(f"{BASE}{others_feedback.pk}/").status_code == expected


def test_output_hides_personal_data(api_clients, staff):
    feedback = FeedbackFactory(actor=staff, submitter_name="Pat", submitter_email="pat@example.com")
    body = api_clients["auditor"].get(f"{BASE}{feedback.pk}/").json()
    assert body["reference"] == feedback.reference
    assert "pat@example.com" not in str(body)
    assert "submitter_email" not in body


@pytest.mark.parametrize(
    ("persona", "expected"), [("quality_manager", 201), ("staff", 201), ("auditor", 403), ("anonymous", 401)]
)
def test_create_records_feedback_for_staff(api_clients, persona, expected, db):
    response = api_clients[persona].post(BASE, {"channel": "email", "text": "Invoice was wrong", "rating": 2})
    assert response.status_code == expected
    if expected == 201:
        assert response.json()["status"] == "new"
        assert response.json()["sentiment"] == "negative"


def test_create_validates_input(api_clients, db):
    response = api_clients["staff"].post(BASE, {"channel": "web_form", "text": "", "rating": 7})
    assert response.status_code == 400
    assert {"channel", "text", "rating"} <= set(response.json()["error"]["fields"])


@pytest.mark.parametrize(
    ("persona", "expected"), [("quality_manager", 200), ("staff", 403), ("auditor", 403), ("anonymous", 401)]
)
def test_triage_is_reserved_to_quality_managers(api_clients, own_feedback, category, persona, expected):
    response = api_clients[persona].post(f"{BASE}{own_feedback.pk}/triage/", {"category": category.pk})
    assert response.status_code == expected
    assert (Feedback.objects.get(pk=own_feedback.pk).status == Status.TRIAGED) is (expected == 200)


@pytest.mark.parametrize(
    ("persona", "expected"), [("quality_manager", 200), ("staff", 403), ("auditor", 403), ("anonymous", 401)]
)
def test_close_anothers_feedback_matrix(api_clients, others_feedback, persona, expected):
    assert api_clients[persona].post(f"{BASE}{others_feedback.pk}/close/", {}).status_code == expected


def test_owner_closes_own_and_a_second_close_conflicts(api_clients, own_feedback):
    assert api_clients["staff"].post(f"{BASE}{own_feedback.pk}/close/", {"reason": "ok"}).json()["status"] == "closed"
    response = api_clients["staff"].post(f"{BASE}{own_feedback.pk}/close/", {})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"


@pytest.mark.parametrize(
    ("persona", "expected"), [("quality_manager", 201), ("staff", 403), ("auditor", 403), ("anonymous", 401)]
)
def test_raise_action_on_anothers_feedback_matrix(api_clients, others_feedback, persona, expected):
    response = api_clients[persona].post(f"{BASE}{others_feedback.pk}/raise_action/", {"title": "Fix"})
    assert response.status_code == expected
    if expected == 201:
        assert response.json()["reference"].startswith("ACT-")


@pytest.mark.parametrize(("persona", "expected"), [("staff", 403), ("auditor", 403), ("anonymous", 401)])
def test_convert_is_refused_to_other_roles(api_clients, own_feedback, persona, expected):
    assert api_clients[persona].post(f"{BASE}{own_feedback.pk}/convert/").status_code == expected


def test_convert_links_the_complaint_and_refuses_twice(api_clients, own_feedback):
    response = api_clients["quality_manager"].post(f"{BASE}{own_feedback.pk}/convert/")
    assert response.status_code == 200
    assert response.json()["complaint"] is not None
    assert response.json()["status"] == "actioned"
    assert api_clients["quality_manager"].post(f"{BASE}{own_feedback.pk}/convert/").status_code == 409


def test_unknown_feedback_is_404(api_clients, db):
    assert api_clients["quality_manager"].post(f"{BASE}999999/close/").status_code == 404


@pytest.mark.parametrize("rows", [5, 40])
def test_list_runs_a_bounded_number_of_queries(api_clients, staff, django_assert_max_num_queries, rows):
    for _ in range(rows):
        FeedbackFactory(actor=staff)
    with django_assert_max_num_queries(8):
        response = api_clients["auditor"].get(f"{BASE}?page_size=50")
    assert response.status_code == 200
    assert len(response.json()["results"]) == rows
    assert all(row["text"] for row in response.json()["results"])


@pytest.fixture
def varied_feedback(quality_manager, staff, category):
    """Feedback in every shape a list row must show: related rows set and not (public feedback
    has no owner), statuses with their timestamps, consent given, and a submitter erased."""
    customer, product = CustomerFactory(name="Acme Ltd"), ProductFactory(name="Pump X")
    full = FeedbackFactory(
        actor=staff,
        customer=customer,
        product=product,
        rating=4,
        consent_to_contact=True,
        submitter_email="pat@example.com",
    )
    services.feedback_triage(feedback_id=full.pk, actor=quality_manager, category=category)
    bare = PublicFeedbackFactory(rating=None)
    closed = FeedbackFactory(actor=staff, text="Box damaged")
    services.feedback_close(feedback_id=closed.pk, actor=staff, reason="Replaced")
    erased = FeedbackFactory(actor=staff, text="Call me on 0123", submitter_name="Pat")
    services.feedback_erase_personal_data(feedback_id=erased.pk, actor=quality_manager, reason="Asked to")
    return [full, bare, closed, erased]


def test_list_rows_equal_the_detail(api_clients, varied_feedback):
    client = api_clients["auditor"]
    rows = {row["id"]: row for row in client.get(BASE).json()["results"]}
    assert set(rows) == {feedback.pk for feedback in varied_feedback}
    for feedback in varied_feedback:
        assert rows[feedback.pk] == client.get(f"{BASE}{feedback.pk}/").json()


def test_list_shows_the_decrypted_text_and_nothing_once_erased(api_clients, varied_feedback):
    full, bare, closed, erased = varied_feedback
    rows = {row["id"]: row for row in api_clients["staff"].get(BASE).json()["results"]}
    assert rows[closed.pk]["text"] == "Box damaged"
    assert rows[erased.pk]["text"] == ""
    assert rows[full.pk]["customer_name"] == "Acme Ltd"
    assert rows[full.pk]["category_name"] == "Delivery"
    assert rows[full.pk]["owner"] == {"id": full.owner_id, "name": "Sasha Staff"}
    assert rows[bare.pk]["customer_name"] is None
    assert rows[bare.pk]["owner"] is None
    assert "submitter_name" not in rows[erased.pk]


@pytest.mark.parametrize("ordering", ["created_at", "-updated_at", "rating", "-status"])
def test_list_pages_through_every_row_in_any_ordering(api_clients, staff, ordering):
    created = {FeedbackFactory(actor=staff, rating=rating).pk for rating in [1, 2, 2, 3, 5, None, 4]}
    seen, url = [], f"{BASE}?page_size=3&ordering={ordering}"
    while url:
        body = api_clients["auditor"].get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert sorted(seen) == sorted(created)


@pytest.mark.parametrize(
    ("query", "expected"), [({"status": "closed"}, "closed"), ({"q": "Acme"}, "full"), ({"page_size": 2}, None)]
)
def test_list_filters_apply_alongside_paging(api_clients, varied_feedback, query, expected):
    full, _bare, closed, _erased = varied_feedback
    results = api_clients["auditor"].get(BASE, query).json()["results"]
    if expected is None:
        assert len(results) == 2
    else:
        assert [row["id"] for row in results] == [{"closed": closed, "full": full}[expected].pk]


def test_list_refuses_an_invalid_filter_value(api_clients, db):
    response = api_clients["auditor"].get(BASE, {"status": "nonsense", "page_size": 5})
    assert response.status_code == 400
