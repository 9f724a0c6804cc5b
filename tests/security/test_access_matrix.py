"""The route x role matrix (#10): every page and API operation answers every persona as
tests/security/matrix.py declares, and nothing ships without a declaration there."""

from __future__ import annotations

import pytest

from tests.security import matrix
from tests.security.access import PERSONAS, api_operations, observe_api, observe_pages
from tests.security.routes import page_patterns


def _differences(observed: dict, declared: dict) -> list[str]:
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for (route, method, persona), result in observed.items():
        rows.setdefault((route, method), {})[persona] = result
    problems = []
    for (route, method), results in rows.items():
        expected = dict(zip(PERSONAS, declared[(route, method)], strict=True))
        problems += [
            f"{method} {route} as {persona}: declared {expected[persona]}, got {results[persona]}"
            for persona in PERSONAS
            if results[persona] != expected[persona]
        ]
    return problems


def test_every_page_route_is_declared_in_the_matrix():
    routes = {name for name, _pattern in page_patterns()}
    assert sorted(routes - matrix.PAGES.keys()) == [], "declare who may use these new routes in matrix.PAGES"
    assert sorted(matrix.PAGES.keys() - routes) == [], "these declared routes no longer exist"


def test_every_api_operation_is_declared_in_the_matrix():
    operations = {f"{method} {path}" for method, path in api_operations()}
    assert sorted(operations - matrix.API.keys()) == [], "declare who may use these new operations in matrix.API"
    assert sorted(matrix.API.keys() - operations) == [], "these declared operations no longer exist"


@pytest.mark.django_db
def test_every_page_answers_every_persona_as_declared(world, personas):
    declared = {}
    for name, (on_get, on_post) in matrix.PAGES.items():
        declared[(name, "GET")] = on_get
        declared[(name, "POST")] = on_post
    assert _differences(observe_pages(world, personas), declared) == []


@pytest.mark.django_db
def test_every_api_operation_answers_every_persona_as_declared(world, personas):
    declared = {}
    for operation, row in matrix.API.items():
        method, path = operation.split(" ", 1)
        declared[(path, method)] = row
    assert _differences(observe_api(world, personas), declared) == []
