"""G6 (issue #9): the feedback list through the real API endpoint and the real list page, and
the deepest list of all, survey invitations (about 4M rows at size L), through the API
(Django test client, the whole middleware stack).

- G6 / G6-invitations / G6-page: the last page, reached with a cursor built from the values of the row just
  before it (not by walking), against the first page. Keyset pages cost the same at any depth.
- G6-values: the API's first page against a bare `.values()` keyset JSON view over the same
  rows and columns (tests/bench/reference.py), in rows per second.
"""

from __future__ import annotations

import time

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from apps.accounts.roles import Role
from apps.core.pagination import CURSOR_PARAM, NEXT, encode_cursor, keys_for
from apps.feedback import selectors
from apps.feedback.api.views import FeedbackViewSet
from apps.feedback.views import FeedbackListView
from apps.surveys.api.views import InvitationViewSet
from tests.bench import harness
from tests.factories import UserFactory

pytestmark = pytest.mark.timeout(600)

API_PAGE = 100


@pytest.fixture(scope="module")
def user(dataset):
    return UserFactory(email="bench-lists@example.invalid", role=Role.QUALITY_MANAGER)


@pytest.fixture(scope="module", autouse=True)
def bench_urls():
    with override_settings(ROOT_URLCONF="tests.bench.urls"):
        yield


def deep_cursor(ordering: tuple[str, ...], page_size: int, queryset=None) -> tuple[str, int]:
    """The cursor whose next page is the last `page_size` rows of the list in `ordering`, built
    from the values of the row just before them; and how many rows precede that page."""
    queryset = selectors.feedback_list() if queryset is None else queryset
    keys = keys_for(queryset, ordering)
    backwards = [f"{'' if key.descending else '-'}{key.name}" for key in keys]
    names = [key.name for key in keys]
    boundary = queryset.order_by(*backwards).values_list(*names)[page_size]
    depth = queryset.count() - page_size
    return encode_cursor(list(boundary), NEXT), depth


def _get(client, url: str, params: dict, expected_rows: int, *, json: bool = True) -> int:
    response = client.get(url, params)
    assert response.status_code == 200, response.content[:500]
    if json:
        rows = len(response.json()["results"])
        assert rows == expected_rows, f"{url} {params}: {rows} rows, expected {expected_rows}"
        return rows
    return expected_rows


def test_g6_feedback_api_last_page_costs_at_most_1_5x_the_first(dataset, user):
    client = APIClient()
    client.force_authenticate(user)
    url = reverse("api:feedback-list")
    cursor, depth = deep_cursor(tuple(FeedbackViewSet.ordering), API_PAGE)
    last = client.get(url, {"page_size": API_PAGE, CURSOR_PARAM: cursor}).json()
    assert last["next"] is None, "the built cursor is not the last page"
    assert len(last["results"]) == API_PAGE

    outcome = harness.compare(
        "G6",
        lambda: _get(client, url, {"page_size": API_PAGE, CURSOR_PARAM: cursor}, API_PAGE),
        lambda: _get(client, url, {"page_size": API_PAGE}, API_PAGE),
        notes=f"GET /api/v1/feedback/?page_size={API_PAGE}: the last page (after {depth:,} rows) vs the first",
    )
    assert outcome.verdict != "fail", harness.table()


def test_g6_deepest_list_survey_invitations_api_last_page_costs_at_most_1_5x_the_first(dataset, user):
    client = APIClient()
    client.force_authenticate(user)
    url = reverse("api:survey-invitation-list")
    viewset = InvitationViewSet()
    cursor, depth = deep_cursor(tuple(viewset.ordering), API_PAGE, viewset.base_queryset())
    last = client.get(url, {"page_size": API_PAGE, CURSOR_PARAM: cursor}).json()
    assert last["next"] is None, "the built cursor is not the last page"
    assert len(last["results"]) == API_PAGE

    outcome = harness.compare(
        "G6-invitations",
        lambda: _get(client, url, {"page_size": API_PAGE, CURSOR_PARAM: cursor}, API_PAGE),
        lambda: _get(client, url, {"page_size": API_PAGE}, API_PAGE),
        notes=f"GET /api/v1/surveys/invitations/?page_size={API_PAGE}: the last page (after {depth:,} rows) "
        "vs the first",
    )
    assert outcome.verdict != "fail", harness.table()


def test_g6_feedback_list_page_last_page_costs_at_most_1_5x_the_first(dataset, user):
    client = Client()
    client.force_login(user)
    url = reverse("feedback:feedback_list")
    cursor, depth = deep_cursor(tuple(FeedbackListView.keyset_ordering), FeedbackListView.paginate_by)
    response = client.get(url, {CURSOR_PARAM: cursor})
    assert response.status_code == 200
    assert len(response.context["page_obj"].object_list) == FeedbackListView.paginate_by

    outcome = harness.compare(
        "G6-page",
        lambda: _get(client, url, {CURSOR_PARAM: cursor}, 0, json=False),
        lambda: _get(client, url, {}, 0, json=False),
        notes=f"GET /feedback/list/ ({FeedbackListView.paginate_by} rows): the last page (after {depth:,} rows) "
        "vs the first",
    )
    assert outcome.verdict != "fail", harness.table()


def test_g6_feedback_api_keeps_0_6x_the_rows_per_second_of_a_values_view(dataset, user):
    client = APIClient()
    client.force_authenticate(user)
    api, bare = reverse("api:feedback-list"), reverse("bench-feedback-values")
    api_rows = client.get(api, {"page_size": API_PAGE}).json()["results"]
    bare_rows = client.get(bare, {"page_size": API_PAGE}).json()["results"]
    assert [row["id"] for row in api_rows] == [row["id"] for row in bare_rows]
    assert [row["text"] for row in api_rows] == [row["text"] for row in bare_rows]

    def rate(url: str) -> float:
        started = time.perf_counter()
        rows = _get(client, url, {"page_size": API_PAGE}, API_PAGE)
        return rows / (time.perf_counter() - started)

    outcome = harness.compare(
        "G6-values",
        lambda: rate(api),
        lambda: rate(bare),
        unit="rows/s",
        notes=f"first page of {API_PAGE} rows; the reference decrypts the text too (one data key per row)",
    )
    assert outcome.verdict != "fail", harness.table()
