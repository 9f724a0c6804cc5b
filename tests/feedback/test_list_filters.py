"""The feedback list's dashboard parameters (status, sentiment, channel, category, product,
segment, received dates), on the page and in the API, and its keyset pages."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.feedback import services
from apps.feedback.models import Feedback
from tests.customers.factories import CustomerFactory, ProductFactory
from tests.feedback.factories import CategoryFactory, FeedbackFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(staff, quality_manager):
    """sme: new, negative, e-mail, SME, with product; ent: triaged, positive, phone, Enterprise,
    received 1 March 2026 (local); anonymous: new, no customer."""
    product = ProductFactory()
    category = CategoryFactory()
    sme = FeedbackFactory(actor=staff, customer=CustomerFactory(segment="SME"), product=product, rating=1)
    ent = FeedbackFactory(actor=staff, channel="phone", customer=CustomerFactory(segment="Enterprise"), rating=5)
    services.feedback_triage(feedback_id=ent.pk, actor=quality_manager, category=category)
    anonymous = FeedbackFactory(actor=staff, rating=None)
    # Test setup only: 00:30 local on 1 March is still 28 February in UTC.
    early = datetime.datetime(2026, 3, 1, 0, 30, tzinfo=timezone.get_current_timezone())
    Feedback.objects.filter(pk=ent.pk).unaudited_update(created_at=early)
    return {"sme": sme, "ent": ent, "anonymous": anonymous, "product": product, "category": category}


def _expected(rows, names):
    return {rows[name].pk for name in names}


def _cases(rows):
    return [
        ({}, {"sme", "ent", "anonymous"}),
        ({"status": "new"}, {"sme", "anonymous"}),
        ({"status": "triaged"}, {"ent"}),
        ({"sentiment": Feedback.objects.get(pk=rows["ent"].pk).sentiment}, {"ent"}),
        ({"channel": "phone"}, {"ent"}),
        ({"category": rows["category"].pk}, {"ent"}),
        ({"product": rows["product"].pk}, {"sme"}),
        ({"segment": "SME"}, {"sme"}),
        ({"segment": "Enterprise"}, {"ent"}),
        ({"segment": "Public sector"}, set()),
        ({"segment": "SME", "status": "new"}, {"sme"}),
        ({"segment": "SME", "status": "triaged"}, set()),
        ({"received_from": "2026-03-01", "received_to": "2026-03-01"}, {"ent"}),
        ({"received_to": "2026-02-28"}, set()),
    ]


@pytest.mark.parametrize("where", ["page", "api"])
def test_dashboard_parameters_filter(clients, api_clients, rows, where):
    for params, names in _cases(rows):
        if where == "page":
            response = clients["auditor"].get("/feedback/list/", params)
            found = {f.pk for f in response.context["object_list"]}
        else:
            response = api_clients["auditor"].get("/api/v1/feedback/", params)
            found = {f["id"] for f in response.json()["results"]}
        assert response.status_code == 200, params
        assert found == _expected(rows, names), params


def test_invalid_values_are_form_errors_and_api_400(clients, api_clients, rows):
    params = {"received_from": "soon", "channel": "pigeon"}
    page = clients["auditor"].get("/feedback/list/", params)
    assert page.status_code == 200
    assert page.context["filter"].errors
    assert api_clients["auditor"].get("/api/v1/feedback/", params).status_code == 400


def _queries(client, url, params) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize(("url", "kind"), [("/feedback/list/", "clients"), ("/api/v1/feedback/", "api_clients")])
def test_query_count_is_pinned_and_equal_for_5_and_50_rows(request, staff, url, kind, django_assert_max_num_queries):
    client = request.getfixturevalue(kind)["auditor"]
    params = {"segment": "SME", "status": "new"}
    client.get(url)
    customer = CustomerFactory(segment="SME")
    for _ in range(5):
        FeedbackFactory(actor=staff, customer=customer)
    few = _queries(client, url, params)
    for _ in range(45):
        FeedbackFactory(actor=staff, customer=customer)
    with django_assert_max_num_queries(12):
        assert client.get(url, params).status_code == 200
    assert _queries(client, url, params) == few


def test_pages_walk_every_row_once_keeping_the_filter(clients, staff):
    customer = CustomerFactory(segment="SME")
    wanted = {FeedbackFactory(actor=staff, customer=customer).pk for _ in range(30)}
    FeedbackFactory(actor=staff)
    seen, url = [], "/feedback/list/?segment=SME"
    while url:
        response = clients["auditor"].get(url)
        seen.extend(f.pk for f in response.context["object_list"])
        next_url = response.context["page_obj"].next_url
        url = "/feedback/list/" + next_url if next_url else None
    assert len(seen) == len(set(seen)) == 30
    assert set(seen) == wanted
