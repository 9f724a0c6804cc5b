"""The complaint list's filters (the dashboard links its figures here) and its keyset pages."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.complaints.models import Complaint
from tests.complaints.factories import make_category
from tests.customers.factories import CustomerFactory, ProductFactory

Status = Complaint.Status
pytestmark = pytest.mark.django_db


def local(day: int, month: int = 3, hour: int = 0, minute: int = 30) -> datetime.datetime:
    """A local (TIME_ZONE) time in 2026; 00:30 local is still the previous day in UTC."""
    return datetime.datetime(2026, month, day, hour, minute, tzinfo=timezone.get_current_timezone())


def _set(complaint, **fields):
    # Test setup only: place a complaint at fixed times without running the clock.
    Complaint.objects.filter(pk=complaint.pk).unaudited_update(**fields)


@pytest.fixture
def rows(make, quality_manager):
    """fresh: open, web, SME, received 10 March; met: closed within SLA, e-mail, Enterprise;
    missed: closed after its close-by date; late: open, acknowledge-by date long past."""
    sme = CustomerFactory(segment="SME")
    enterprise = CustomerFactory(segment="Enterprise")
    product = ProductFactory()
    fresh = make(channel="web", customer=sme, product=product)
    met = make(channel="email", customer=enterprise, status=Status.CLOSED)
    missed = make(channel="phone", customer=sme, status=Status.CLOSED)
    late = make(channel="letter")
    category = make_category()
    _set(fresh, received_at=local(10), category=category)
    _set(
        met,
        received_at=local(1),
        acknowledged_at=local(1, hour=9),
        ack_due_at=local(2),
        responded_at=local(3),
        respond_due_at=local(4),
        closed_at=local(5),
        close_due_at=local(6),
    )
    _set(
        missed,
        received_at=local(1, month=2),
        acknowledged_at=local(2, month=2),
        ack_due_at=local(3, month=2),
        responded_at=local(4, month=2),
        respond_due_at=local(5, month=2),
        closed_at=local(20),
        close_due_at=local(10),
    )
    _set(late, received_at=local(15), ack_due_at=local(16), acknowledged_at=None)
    return {"fresh": fresh, "met": met, "missed": missed, "late": late, "product": product, "category": category}


CASES = [
    ({}, {"fresh", "met", "missed", "late"}),
    ({"open": "true"}, {"fresh", "late"}),
    ({"open": "false"}, {"met", "missed"}),
    ({"overdue": "true"}, {"late"}),
    ({"overdue": "false"}, {"fresh", "met", "missed"}),
    ({"status": "closed"}, {"met", "missed"}),
    ({"channel": "email"}, {"met"}),
    ({"channel": "web"}, {"fresh"}),
    ({"segment": "SME"}, {"fresh", "missed"}),
    ({"segment": "sme"}, set()),
    ({"segment": "Enterprise"}, {"met"}),
    ({"received_from": "2026-03-10"}, {"fresh", "late"}),
    ({"received_to": "2026-03-10"}, {"fresh", "met", "missed"}),
    ({"received_from": "2026-03-10", "received_to": "2026-03-10"}, {"fresh"}),
    ({"received_from": "2026-03-11", "received_to": "2026-03-14"}, set()),
    ({"closed_from": "2026-03-05", "closed_to": "2026-03-05"}, {"met"}),
    ({"closed_from": "2026-03-06"}, {"missed"}),
    ({"closed_to": "2026-03-04"}, set()),
    ({"within_sla": "true"}, {"met"}),
    ({"within_sla": "false"}, {"missed"}),
    ({"within_sla": "false", "segment": "Enterprise"}, set()),
    ({"open": "true", "segment": "SME"}, {"fresh"}),
]


def _names(rows, objects) -> set[str]:
    by_pk = {row.pk: name for name, row in rows.items() if isinstance(row, Complaint)}
    return {by_pk[pk] for pk in objects}


@pytest.mark.parametrize(("params", "expected"), CASES)
def test_list_page_filters(clients, rows, params, expected):
    response = clients["quality_manager"].get("/complaints/", params)
    assert response.status_code == 200
    assert _names(rows, [c.pk for c in response.context["object_list"]]) == expected


@pytest.mark.parametrize(("params", "expected"), CASES)
def test_api_filters(api_clients, rows, params, expected):
    response = api_clients["quality_manager"].get("/api/v1/complaints/", params)
    assert response.status_code == 200
    assert _names(rows, [c["id"] for c in response.json()["results"]]) == expected


def test_product_and_category_filters(clients, rows):
    for params in ({"product": rows["product"].pk}, {"category": rows["category"].pk}):
        response = clients["quality_manager"].get("/complaints/", params)
        assert [c.pk for c in response.context["object_list"]] == [rows["fresh"].pk]


def test_within_sla_matches_the_queryset_rule(rows):
    met = set(Complaint.objects.closed_within_sla().values_list("pk", flat=True))
    assert met == {rows["met"].pk}


def test_within_sla_counts_a_stage_without_due_date_as_met(rows):
    _set(rows["missed"], close_due_at=None)
    assert set(Complaint.objects.closed_within_sla().values_list("pk", flat=True)) == {
        rows["met"].pk,
        rows["missed"].pk,
    }


def test_staff_filters_within_their_own_complaints(clients, make, staff):
    mine = make(assignee=staff, channel="email")
    make(channel="email")
    response = clients["staff"].get("/complaints/", {"channel": "email", "open": "true"})
    assert [c.pk for c in response.context["object_list"]] == [mine.pk]


@pytest.mark.parametrize(
    "params",
    [
        {"received_from": "yesterday"},
        {"closed_to": "2026-13-45"},
        {"channel": "pigeon"},
        {"category": "abc"},
        {"product": "999999"},
        {"within_sla": "maybe", "received_to": "not-a-date"},
    ],
)
def test_invalid_filters_show_errors_on_the_page_and_400_in_the_api(clients, api_clients, rows, params):
    page = clients["quality_manager"].get("/complaints/", params)
    assert page.status_code == 200
    assert page.context["filter"].errors
    assert 'class="invalid-feedback' in page.content.decode() or "is-invalid" in page.content.decode()
    api = api_clients["quality_manager"].get("/api/v1/complaints/", params)
    assert api.status_code == 400
    assert api["Content-Type"].startswith("application/json")


def _many(make, count, staff):
    for _ in range(count):
        make(assignee=staff, channel="web")


def _queries(client, url, params) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(queries)


FILTERED = {"open": "true", "channel": "web", "received_from": "2020-01-01"}


@pytest.mark.parametrize(("url", "client_kind"), [("/complaints/", "clients"), ("/api/v1/complaints/", "api")])
def test_query_count_is_pinned_and_equal_for_5_and_50_rows(
    request, make, staff, url, client_kind, django_assert_max_num_queries
):
    client = request.getfixturevalue("clients" if client_kind == "clients" else "api_clients")["staff"]
    client.get(url)
    _many(make, 5, staff)
    few = _queries(client, url, FILTERED)
    _many(make, 45, staff)
    with django_assert_max_num_queries(12):
        response = client.get(url, FILTERED)
    assert response.status_code == 200
    assert _queries(client, url, FILTERED) == few


def test_walking_the_pages_with_a_filter_visits_every_matching_row_once(clients, make, staff):
    for n in range(30):
        complaint = make(assignee=staff, channel="web" if n % 3 else "email")
        _set(complaint, received_at=local(1 + n % 4))  # many equal timestamps
    expected = set(Complaint.objects.filter(channel="web").values_list("pk", flat=True))
    seen, url = [], "/complaints/?channel=web"
    while url:
        response = clients["staff"].get(url)
        seen.extend(c.pk for c in response.context["object_list"])
        next_url = response.context["page_obj"].next_url
        url = "/complaints/" + next_url if next_url else None
    assert len(seen) == len(set(seen))
    assert set(seen) == expected
