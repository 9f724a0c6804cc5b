"""Smoke run at the bench's sizes XS and S (issue #9): the properties of the benchmarks that
do not depend on timing, checked on every `make test`. Measured once in conftest.py."""

from __future__ import annotations

import pytest

from tests.smoke.conftest import API_LISTS, PAGE_SIZES, PAGES, SIZES

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("size", SIZES)
def test_smoke_data_set_loads_complaints_and_feedback(smoke, size):
    rows = smoke[size].rows
    assert rows["complaints_complaint"] > 0
    assert rows["feedback_feedback"] > 0
    assert rows["surveys_answer"] > rows["complaints_complaint"]


@pytest.mark.parametrize("size", SIZES)
def test_rollup_figures_equal_the_raw_sql_aggregates(smoke, size):
    found = {period: diff for period, diff in smoke[size].differences.items() if diff}
    assert not found, found


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", API_LISTS)
def test_api_list_queries_do_not_grow_with_page_size(smoke, size, name):
    measured = {page_size: smoke[size].api[(name, page_size)] for page_size in PAGE_SIZES}
    assert {status for status, _rows, _queries in measured.values()} == {200}, measured
    assert [rows for _status, rows, _queries in measured.values()] == list(PAGE_SIZES), measured
    assert len({queries for *_, queries in measured.values()}) == 1, measured


@pytest.mark.parametrize("name", API_LISTS)
def test_api_list_queries_do_not_grow_with_data_size(smoke, name):
    measured = {size: smoke[size].api[(name, PAGE_SIZES[-1])] for size in SIZES}
    assert len({queries for *_, queries in measured.values()}) == 1, measured


@pytest.mark.parametrize("name", PAGES)
def test_list_page_queries_do_not_grow_with_data_size(smoke, name):
    measured = {size: smoke[size].pages[name] for size in SIZES}
    assert {status for status, _queries in measured.values()} == {200}, measured
    assert len({queries for _status, queries in measured.values()}) == 1, measured
