"""The requirement list's dashboard parameters (status=in_review, product, segment)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.requirements import services
from tests.customers.factories import CustomerFactory, ProductFactory
from tests.requirements.factories import RequirementFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(staff):
    product = ProductFactory()
    sme = RequirementFactory(created_by=staff, customer=CustomerFactory(segment="SME"), product=product)
    services.requirement_submit(requirement_id=sme.pk, actor=staff)
    ent = RequirementFactory(created_by=staff, customer=CustomerFactory(segment="Enterprise"))
    general = RequirementFactory(created_by=staff, customer=None)
    return {"sme": sme, "ent": ent, "general": general, "product": product}


def _cases(rows):
    return [
        ({}, {"sme", "ent", "general"}),
        ({"status": "in_review"}, {"sme"}),
        ({"product": rows["product"].pk}, {"sme"}),
        ({"segment": "SME"}, {"sme"}),
        ({"segment": "Enterprise"}, {"ent"}),
        ({"segment": "Enterprise", "status": "in_review"}, set()),
        ({"segment": "Nobody"}, set()),
    ]


@pytest.mark.parametrize("where", ["page", "api"])
def test_dashboard_parameters_filter(clients, api_clients, rows, where):
    for params, names in _cases(rows):
        if where == "page":
            response = clients["auditor"].get("/requirements/", params)
            found = {r.pk for r in response.context["object_list"]}
        else:
            response = api_clients["auditor"].get("/api/v1/requirements/", params)
            found = {r["id"] for r in response.json()["results"]}
        assert response.status_code == 200, params
        assert found == {rows[name].pk for name in names}, params


def test_invalid_status_is_a_form_error_and_api_400(clients, api_clients, rows):
    page = clients["auditor"].get("/requirements/", {"status": "bogus", "segment": "SME"})
    assert page.status_code == 200
    assert page.context["filter"].errors
    assert api_clients["auditor"].get("/api/v1/requirements/", {"status": "bogus"}).status_code == 400


def _queries(client, url, params) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize(("url", "kind"), [("/requirements/", "clients"), ("/api/v1/requirements/", "api_clients")])
def test_query_count_is_pinned_and_equal_for_5_and_50_rows(request, staff, url, kind, django_assert_max_num_queries):
    client = request.getfixturevalue(kind)["auditor"]
    params = {"segment": "SME"}
    client.get(url)
    customer = CustomerFactory(segment="SME")
    for _ in range(5):
        RequirementFactory(created_by=staff, customer=customer)
    few = _queries(client, url, params)
    for _ in range(45):
        RequirementFactory(created_by=staff, customer=customer)
    with django_assert_max_num_queries(12):
        assert client.get(url, params).status_code == 200
    assert _queries(client, url, params) == few
