"""The corrective action list's dashboard parameters (open, overdue, owner) and its pages."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.actions.models import CorrectiveAction

Status = CorrectiveAction.Status
pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(make_action, other_staff):
    return {
        "open": make_action(),
        "mine": make_action(owner=other_staff),
        "done": make_action(Status.VERIFIED_EFFECTIVE),
    }


CASES = [
    ({}, {"open", "mine", "done"}),
    ({"open": "true"}, {"open", "mine"}),
    ({"open": "false"}, {"done"}),
    ({"open": "true", "owner": "{other_staff}"}, {"mine"}),
    ({"open": "false", "owner": "{other_staff}"}, set()),
]


@pytest.mark.parametrize(("params", "names"), CASES)
@pytest.mark.parametrize("where", ["page", "api"])
def test_open_and_owner_filter(clients, api_clients, rows, other_staff, params, names, where):
    params = {key: value.format(other_staff=other_staff.pk) for key, value in params.items()}
    if where == "page":
        response = clients["auditor"].get("/actions/", params)
        found = {a.pk for a in response.context["object_list"]}
    else:
        response = api_clients["auditor"].get("/api/v1/actions/", params)
        found = {a["id"] for a in response.json()["results"]}
    assert response.status_code == 200
    assert found == {rows[name].pk for name in names}


def test_open_matches_the_queryset_method(rows):
    assert set(CorrectiveAction.objects.open().values_list("pk", flat=True)) == {rows["open"].pk, rows["mine"].pk}


def test_invalid_owner_is_a_form_error_and_api_400(clients, api_clients, rows):
    page = clients["auditor"].get("/actions/", {"owner": "nobody"})
    assert page.status_code == 200
    assert page.context["filter"].errors
    assert api_clients["auditor"].get("/api/v1/actions/", {"owner": "nobody"}).status_code == 400


def _queries(client, url, params) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize(("url", "kind"), [("/actions/", "clients"), ("/api/v1/actions/", "api_clients")])
def test_query_count_is_pinned_and_equal_for_5_and_50_rows(
    request, make_action, url, kind, django_assert_max_num_queries
):
    client = request.getfixturevalue(kind)["auditor"]
    params = {"open": "true"}
    client.get(url)
    for _ in range(5):
        make_action()
    few = _queries(client, url, params)
    for _ in range(45):
        make_action()
    with django_assert_max_num_queries(12):
        assert client.get(url, params).status_code == 200
    assert _queries(client, url, params) == few
