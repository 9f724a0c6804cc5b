"""The triage board pages each column like the lists (#24): it was one 16,000-pixel page."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.feedback.models import Feedback
from apps.feedback.selectors import TRIAGE_PAGE_SIZE
from tests.feedback.factories import FeedbackFactory

BOARD = reverse("feedback:triage")


def _cards(html: str) -> list[str]:
    """Feedback references on the page, column by column."""
    return re.findall(r'<a class="fw-semibold" href="/feedback/\d+/">([^<]+)</a>', html)


def _columns(html: str) -> list[str]:
    return re.split(r'data-testid="column"', html)[1:]


def _next(html_column: str) -> str:
    return re.search(r'rel="next" href="([^"]+)"', html_column).group(1).replace("&amp;", "&")


@pytest.fixture
def backlog(quality_manager):
    return [FeedbackFactory(actor=quality_manager) for _ in range(TRIAGE_PAGE_SIZE * 2 + 3)]


def test_the_new_column_shows_one_page_and_its_total(clients, backlog):
    html = clients["quality_manager"].get(BOARD).content.decode()
    new = _columns(html)[0]

    assert len(_cards(new)) == TRIAGE_PAGE_SIZE
    assert '<span class="badge text-bg-light border" data-testid="column-total">23</span>' in new
    assert _cards(new)[0] == backlog[0].reference  # oldest first


def test_next_pages_reach_every_card_once(clients, backlog):
    client = clients["quality_manager"]
    seen, url = [], BOARD
    for _ in range(5):
        new = _columns(client.get(url).content.decode())[0]
        seen += _cards(new)
        if 'rel="next"' not in new:
            break
        url = BOARD + _next(new)

    assert seen == [feedback.reference for feedback in backlog]


def test_paging_one_column_keeps_the_other_columns_place_and_other_parameters(clients, backlog, quality_manager):
    triaged_cursor = "opaque-triaged-cursor"
    html = clients["quality_manager"].get(BOARD, {"triaged": triaged_cursor, "keep": "me"}).content.decode()

    query = parse_qs(urlsplit(_next(_columns(html)[0])).query)

    assert query["triaged"] == [triaged_cursor]
    assert query["keep"] == ["me"]
    assert "new" in query


def test_a_malformed_cursor_shows_the_first_page(clients, backlog):
    response = clients["quality_manager"].get(BOARD, {"new": "not-a-cursor!!"})

    assert response.status_code == 200
    assert _cards(_columns(response.content.decode())[0])[0] == backlog[0].reference


def test_the_board_costs_the_same_queries_however_long_the_backlog(clients, quality_manager):
    client = clients["quality_manager"]
    for _ in range(2):
        FeedbackFactory(actor=quality_manager)
    client.get(BOARD)
    with CaptureQueriesContext(connection) as few:
        client.get(BOARD)

    for _ in range(40):
        FeedbackFactory(actor=quality_manager)
    with CaptureQueriesContext(connection) as many:
        client.get(BOARD)

    assert len(many) == len(few)
    assert Feedback.objects.filter(status=Feedback.Status.NEW).count() == 42
