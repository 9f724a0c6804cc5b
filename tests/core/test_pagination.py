"""Keyset pagination (apps.core.pagination): every row once, cursors that cannot break a page,
filters kept across pages, and the same cost on page 5 as on page 1."""

import base64
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.db.models import Case, F, When
from django.test.utils import CaptureQueriesContext

from apps.core.pagination import NEXT, encode_cursor, keys_for, paginate
from apps.customers.models import Customer, Product
from tests.complaints.factories import make_complaint
from tests.customers.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def products():
    """Ten products with only three distinct names, half of them services."""
    return [
        ProductFactory(name=f"Name {n % 3}", kind=Product.Kind.SERVICE if n % 2 else Product.Kind.PRODUCT)
        for n in range(10)
    ]


def _queryset():
    # A nullable sort key: services carry their name, products NULL.
    return Product.objects.annotate(maybe=Case(When(kind=Product.Kind.SERVICE, then=F("name")), default=None))


def _walk(queryset, ordering, page_size):
    """Follow next links to the end, then previous links back to the start."""
    forward, pages = [], []
    page = paginate(queryset, ordering=ordering, page_size=page_size, cursor=None)
    assert not page.has_previous
    while True:
        pages.append([row.pk for row in page])
        forward.extend(row.pk for row in page)
        if not page.has_next:
            break
        page = paginate(queryset, ordering=ordering, page_size=page_size, cursor=page.next_cursor)
    backward = [[row.pk for row in page]]
    while page.has_previous:
        page = paginate(queryset, ordering=ordering, page_size=page_size, cursor=page.previous_cursor)
        backward.append([row.pk for row in page])
    return forward, pages, list(reversed(backward))


@pytest.mark.parametrize(
    "ordering",
    [("name", "id"), ("-name", "-id"), ("name", "-id"), ("-name",), ("maybe", "id"), ("-maybe", "-id"), ("-maybe",)],
)
@pytest.mark.parametrize("page_size", [1, 3, 4, 10, 25])
def test_next_and_previous_visit_every_row_once_with_ties(products, ordering, page_size):
    queryset = _queryset()
    keys = keys_for(queryset, ordering)
    forward, pages, backward = _walk(queryset, ordering, page_size)
    expected = list(
        queryset.order_by(
            *[F(k.name).desc(nulls_last=True) if k.descending else F(k.name).asc(nulls_last=True) for k in keys]
        ).values_list("pk", flat=True)
    )
    assert forward == expected
    assert len(set(forward)) == len(products)
    assert backward == pages


def test_an_out_of_range_cursor_value_is_only_a_position(products):
    cursor = _token({"v": ["Name 1", 10**30], "d": "n"})
    page = paginate(Product.objects.all(), ordering=("name", "id"), page_size=3, cursor=cursor)
    assert {p.name for p in page} == {"Name 2"}


def test_an_empty_list_is_one_page_without_links(db):
    page = paginate(Product.objects.all(), ordering=("name", "id"), page_size=5, cursor=None)
    assert list(page) == []
    assert not page.has_other_pages()
    assert page.next_cursor is page.previous_cursor is None


def _token(payload) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


TAMPERED = [
    "garbage",
    "%%%",
    "",
    "a" * 5000,
    _token({"v": ["x"], "d": "n"}),
    _token({"v": ["Name 1", "not-a-number"], "d": "n"}),
    _token({"v": ["Name 1", 1, 2], "d": "n"}),
    _token({"v": ["Name 1", 1], "d": "sideways"}),
    _token({"v": [["Name 1"], {"id": 1}], "d": "n"}),
    _token({"v": [None, 1], "d": "n"}),
    _token([1, 2]),
    base64.urlsafe_b64encode(b"\xff\xfe").decode(),
]


@pytest.mark.parametrize("cursor", TAMPERED)
def test_a_tampered_cursor_gives_the_first_page(products, cursor):
    first = paginate(Product.objects.all(), ordering=("name", "id"), page_size=3, cursor=None)
    page = paginate(Product.objects.all(), ordering=("name", "id"), page_size=3, cursor=cursor)
    assert [p.pk for p in page] == [p.pk for p in first]
    assert not page.has_previous


def test_a_naive_datetime_in_a_cursor_gives_the_first_page(quality_manager):
    complaints = [make_complaint(qm=quality_manager) for _ in range(3)]
    cursor = encode_cursor(["2026-01-01T10:00:00", complaints[0].pk], NEXT)
    from apps.complaints.models import Complaint

    page = paginate(Complaint.objects.all(), ordering=("-received_at", "-id"), page_size=2, cursor=cursor)
    assert not page.has_previous
    assert len(page) == 2


@pytest.mark.parametrize("cursor", ["garbage", _token({"v": ["yesterday", "x"], "d": "n"})])
@pytest.mark.parametrize("url", ["/complaints/", "/customers/", "/api/v1/complaints/", "/api/v1/customers/"])
def test_pages_and_api_answer_a_tampered_cursor_with_the_first_page(clients, api_clients, url, cursor, staff):
    client = api_clients["quality_manager"] if url.startswith("/api/") else clients["quality_manager"]
    response = client.get(url, {"cursor": cursor})
    assert response.status_code == 200


def test_links_keep_the_filters(clients, db):
    for n in range(30):
        CustomerFactory(name=f"Kept {n:02d}", segment="SME")
    CustomerFactory.create_batch(5, segment="Enterprise")
    first = clients["staff"].get("/customers/", {"segment": "SME", "q": "Kept"})
    page = first.context["page_obj"]
    assert page.previous_url is None
    query = parse_qs(urlsplit(page.next_url).query)
    assert query["segment"] == ["SME"]
    assert query["q"] == ["Kept"]
    assert "page" not in query
    assert page.next_url in first.content.decode().replace("&amp;", "&")
    second = clients["staff"].get("/customers/" + page.next_url)
    rows = [c.name for c in first.context["object_list"]] + [c.name for c in second.context["object_list"]]
    assert rows == [f"Kept {n:02d}" for n in range(30)]
    back = clients["staff"].get("/customers/" + second.context["page_obj"].previous_url)
    assert list(back.context["object_list"]) == list(first.context["object_list"])
    assert parse_qs(urlsplit(second.context["page_obj"].previous_url).query)["segment"] == ["SME"]


def test_api_links_keep_the_filters_and_page_size(api_clients, db):
    CustomerFactory.create_batch(5, segment="SME")
    CustomerFactory.create_batch(3, segment="Enterprise")
    body = api_clients["auditor"].get("/api/v1/customers/", {"segment": "SME", "page_size": 2}).json()
    query = parse_qs(urlsplit(body["next"]).query)
    assert query["segment"] == ["SME"]
    assert query["page_size"] == ["2"]
    assert body["previous"] is None
    assert "count" not in body


def test_api_page_size_is_capped(api_clients, db):
    CustomerFactory.create_batch(3)
    from apps.core.api.pagination import CursorPagination

    assert CursorPagination.max_page_size == 200
    assert CursorPagination.page_size == 50
    response = api_clients["auditor"].get("/api/v1/customers/", {"page_size": 100000})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 3


def _count(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    assert not any("COUNT(" in query["sql"].upper() for query in queries.captured_queries)
    return len(queries), response


def test_query_count_is_the_same_on_page_one_and_page_five(api_clients, db):
    CustomerFactory.create_batch(12)
    client = api_clients["auditor"]
    url = "/api/v1/customers/?page_size=2"
    client.get(url)  # the first call of a session records the token's use
    counts, seen = [], []
    for _ in range(5):
        count, response = _count(client, url)
        counts.append(count)
        body = response.json()
        seen.extend(row["id"] for row in body["results"])
        url = body["next"]
    assert len(set(counts)) == 1, counts
    assert len(seen) == len(set(seen)) == 10


def test_list_page_counts_only_a_bounded_total_and_same_queries_deeper(clients, db):
    CustomerFactory.create_batch(80)
    client = clients["auditor"]
    with CaptureQueriesContext(connection) as first_queries:
        first = client.get("/customers/")
    url = "/customers/"
    response = first
    for _ in range(2):
        url = "/customers/" + response.context["page_obj"].next_url
        response = client.get(url)
    with CaptureQueriesContext(connection) as deep_queries:
        deep = client.get(url)
    assert deep.status_code == first.status_code == 200
    assert len(deep_queries) == len(first_queries)
    counts = [q["sql"] for q in deep_queries.captured_queries if "COUNT(*)" in q["sql"].upper()]
    assert len(counts) == 1
    assert "LIMIT 1001" in counts[0]
    assert Customer.objects.count() == 80


def test_the_customer_total_is_counted_up_to_a_cap(clients, monkeypatch, db):
    from apps.core import pagination

    CustomerFactory.create_batch(4)
    assert "4 customers" in clients["auditor"].get("/customers/").content.decode()
    monkeypatch.setattr(pagination, "TOTAL_CAP", 3)
    with CaptureQueriesContext(connection) as queries:
        body = clients["auditor"].get("/customers/").content.decode()
    assert "3+ customers" in body
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(*)" in q["sql"].upper()]
    assert len(counts) == 1
    assert "LIMIT 4" in counts[0]


def test_a_foreign_key_orders_by_its_column(staff, other_staff):
    owners = [staff, other_staff, None]
    customers = [CustomerFactory(account_owner=owners[n % 3]) for n in range(7)]
    forward, pages, backward = _walk(Customer.objects.all(), ("account_owner", "-id"), 2)
    assert sorted(forward) == sorted(c.pk for c in customers)
    assert backward == pages


def test_an_ordering_through_a_relation_is_refused():
    with pytest.raises(ValueError, match="unknown field"):
        keys_for(Customer.objects.all(), ("account_owner__full_name",))


def test_api_next_and_previous_links_walk_every_row_once(api_clients, db):
    customers = [CustomerFactory(name="Same name") for _ in range(8)]
    client = api_clients["auditor"]
    body = client.get("/api/v1/customers/", {"page_size": 3}).json()
    pages = [[row["id"] for row in body["results"]]]
    while body["next"]:
        body = client.get(body["next"]).json()
        pages.append([row["id"] for row in body["results"]])
    back = [pages[-1]]
    while body["previous"]:
        body = client.get(body["previous"]).json()
        back.append([row["id"] for row in body["results"]])
    assert [pk for page in pages for pk in page] == sorted(c.pk for c in customers)
    assert list(reversed(back)) == pages
