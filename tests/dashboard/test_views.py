"""The home page: dashboard for quality managers and auditors, queue for staff (ISO 9001 5.1.2)."""

from __future__ import annotations

import re
from datetime import date
from html import unescape

import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from apps.actions import services as action_services
from apps.analytics import services as analytics_services
from apps.dashboard.selectors import Period, add_months
from tests.actions.factories import ActionFactory
from tests.complaints.factories import make_complaint

pytestmark = pytest.mark.django_db

HOME = "/"


def _tile(html: str, key: str) -> str:
    match = re.search(rf'data-testid="tile-{key}">(.*?)</div>\s*</div>\s*</div>', html, re.S)
    assert match, key
    return match.group(1)


def _tile_value(html: str, key: str) -> str:
    value = re.search(r'data-testid="tile-value">(.*?)</span>', _tile(html, key), re.S).group(1)
    return " ".join(value.split())


def _tile_href(html: str, key: str) -> str:
    return unescape(re.search(r'href="([^"]*)"', _tile(html, key)).group(1))


@pytest.mark.parametrize(
    ("persona", "expected", "sees"),
    [
        ("quality_manager", 200, "dashboard"),
        ("auditor", 200, "dashboard"),
        ("staff", 200, "queue"),
        ("other_staff", 200, "queue"),
    ],
)
def test_home_page_by_role(persona, expected, sees, clients):
    response = clients[persona].get(HOME)
    assert response.status_code == expected
    html = response.content.decode()
    other = {"dashboard": "queue", "queue": "dashboard"}[sees]
    assert f'data-testid="{sees}"' in html
    assert f'data-testid="{other}"' not in html
    assert 'data-testid="dashboard-role"' in html


def test_staff_queue_holds_only_their_own_work(clients, staff, other_staff, quality_manager):
    mine = make_complaint(qm=quality_manager, assignee=staff)
    theirs = make_complaint(qm=quality_manager, assignee=other_staff)
    my_action = ActionFactory(actor=quality_manager, owner=staff, title="Fix the packing line")
    their_action = ActionFactory(actor=quality_manager, owner=other_staff, title="Retrain the drivers")
    action_services.action_start(action_id=my_action.pk, actor=staff)
    action_services.action_start(action_id=their_action.pk, actor=other_staff)
    yesterday = timezone.localdate() - timezone.timedelta(days=1)
    action_services.plan_item_add(
        action_id=my_action.pk, actor=staff, description="Add foam inserts", owner=staff, due_date=yesterday
    )
    action_services.plan_item_add(
        action_id=their_action.pk,
        actor=other_staff,
        description="Book the course",
        owner=other_staff,
        due_date=yesterday,
    )

    html = clients["staff"].get(HOME).content.decode()

    assert mine.reference in html
    assert theirs.reference not in html
    assert "Fix the packing line" in html
    assert "Retrain the drivers" not in html
    assert "Add foam inserts" in html
    assert "Book the course" not in html
    assert "overdue" in html  # the plan item due yesterday


def test_empty_queue_says_so(clients):
    html = clients["staff"].get(HOME).content.decode()
    assert "No open complaints are assigned to you." in html
    assert "You own no open corrective actions." in html


def test_figures_on_a_small_data_set(clients, build_data):
    build_data()
    html = clients["quality_manager"].get(HOME).content.decode()

    assert _tile_value(html, "open_complaints") == "3"
    assert _tile_value(html, "complaints_past_sla") == "0"
    assert _tile_value(html, "requirements_awaiting_review") == "1"
    assert _tile_value(html, "feedback_awaiting_triage") == "2"
    assert _tile_value(html, "overdue_actions") == "0"
    # One complaint closed this period, within its SLA (closed minutes after receipt).
    assert _tile_value(html, "sla_compliance") == "100.0%"


def test_filters_narrow_the_figures(clients, build_data):
    data = build_data()
    client = clients["quality_manager"]

    pump = client.get(HOME, {"period": "3", "product": data.pump.pk}).content.decode()
    smb = client.get(HOME, {"period": "6", "segment": "SMB"}).content.decode()

    assert 'data-testid="filter-errors"' not in pump
    assert _tile_value(pump, "open_complaints") == "2"
    assert _tile_value(pump, "feedback_awaiting_triage") == "1"
    assert _tile_value(pump, "requirements_awaiting_review") == "1"
    assert _tile_value(smb, "open_complaints") == "1"
    assert _tile_value(smb, "requirements_awaiting_review") == "0"


@pytest.mark.parametrize("params", [{"period": "7"}, {"product": "999999"}, {"segment": "Nobody"}])
def test_invalid_filters_show_errors_and_default_figures(clients, build_data, params):
    build_data()
    html = clients["quality_manager"].get(HOME, params).content.decode()

    assert 'data-testid="filter-errors"' in html
    assert "is-invalid" in html
    assert _tile_value(html, "open_complaints") == "3"
    period = Period.ending_this_month(12)
    assert f"closed_from={period.start.isoformat()}" in unescape(html)


def test_every_tile_links_to_its_list_with_the_same_filters(clients, build_data):
    data = build_data()
    html = (
        clients["quality_manager"]
        .get(HOME, {"period": "3", "product": data.pump.pk, "segment": "Enterprise"})
        .content.decode()
    )
    period = Period.ending_this_month(3)
    start, last = period.start.isoformat(), period.last_day.isoformat()
    common = f"product={data.pump.pk}&segment=Enterprise"

    assert _tile_href(html, "open_complaints") == f"/complaints/?open=true&{common}"
    assert _tile_href(html, "complaints_past_sla") == f"/complaints/?overdue=true&{common}"
    assert _tile_href(html, "sla_compliance") == (
        f"/complaints/?within_sla=true&closed_from={start}&closed_to={last}&{common}"
    )
    assert _tile_href(html, "overdue_actions") == "/actions/?overdue=true"
    assert _tile_href(html, "requirements_awaiting_review") == f"/requirements/?status=in_review&{common}"
    assert _tile_href(html, "feedback_awaiting_triage") == f"/feedback/list/?status=new&{common}"
    assert _tile_href(html, "nps") == (
        f"/surveys/results/?date_from={start}&date_to={last}&product={data.pump.pk}&segment=Enterprise"
    )
    # The Pareto and monthly tables link each number to the complaints behind it.
    pareto = f"/complaints/?category={data.delivery.pk}&received_from={start}&received_to={last}&{common}"
    assert pareto.replace("&", "&amp;") in html


def test_missing_figures_say_no_data(clients):
    html = clients["quality_manager"].get(HOME).content.decode()

    assert _tile_value(html, "nps") == "no data"
    assert _tile_value(html, "csat") == "no data"
    assert _tile_value(html, "sla_compliance") == "no data"
    assert _tile_value(html, "open_complaints") == "0"
    assert "no data to compare with the previous 12 months" in html
    assert "Figures have not been computed yet." in html


def test_shows_when_the_figures_were_refreshed(clients, build_data):
    build_data()
    html = clients["quality_manager"].get(HOME).content.decode()
    assert re.search(r"Figures as of \d\d:\d\d\.", html)


def test_objectives_table_shows_latest_target_and_trend(clients, build_data):
    build_data()
    html = clients["quality_manager"].get(HOME).content.decode()
    table = html[html.index('data-testid="objectives"') :]
    assert "Faster deliveries 1" in table
    assert "6.5 days" in table
    assert ">5 days<" in table
    assert 'class="chart-svg chart-spark"' in table


def test_renders_every_chart_with_its_table(clients, build_data):
    build_data()
    html = clients["quality_manager"].get(HOME).content.decode()

    for key in ("surveys", "complaints", "pareto", "control"):
        assert f'data-testid="chart-{key}"' in html
    assert html.count('role="img"') >= 4
    assert html.count('<details class="chart-data') >= 4
    assert "Every month is within the 3-sigma control limits" in html or "outside the control limits" in html


@pytest.mark.parametrize(
    ("months", "today", "start", "end", "previous_start"),
    [
        (12, date(2026, 11, 22), date(2025, 12, 1), date(2026, 12, 1), date(2024, 12, 1)),
        (3, date(2026, 1, 31), date(2025, 11, 1), date(2026, 2, 1), date(2025, 8, 1)),
        (6, date(2026, 12, 1), date(2026, 7, 1), date(2027, 1, 1), date(2026, 1, 1)),
    ],
)
def test_period_ends_with_the_current_month(months, today, start, end, previous_start):
    period = Period.ending_this_month(months, today=today)
    assert (period.start, period.end) == (start, end)
    assert (period.previous.start, period.previous.end) == (previous_start, start)
    assert len(period.month_starts) == months
    assert add_months(date(2026, 12, 15), 1) == date(2027, 1, 1)


def _count_queries(client) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(HOME).status_code == 200
    return len(captured)


# Session and user, the filter form (products, segments), the analytics figures (each a fixed
# number of queries; the control chart reads where the complaints start, the closed months' recorded
# exposure and today's customers), the objectives table, the recurrence panel and the failed e-mails
# count; for staff, the three queue lists.
@pytest.mark.parametrize(("persona", "max_queries"), [("quality_manager", 25), ("staff", 8)])
def test_query_count_is_fixed(clients, build_data, persona, max_queries, django_assert_max_num_queries):
    client = clients[persona]
    build_data(1)
    client.get(HOME)  # warm per-process caches (content types, the session user's permissions)
    small = _count_queries(client)
    build_data(4)  # five units in all
    large = _count_queries(client)
    assert small == large
    with django_assert_max_num_queries(max_queries):
        assert client.get(HOME).status_code == 200


def _pareto_href(html: str, label: str) -> str:
    match = re.search(rf'<th scope="row">{label}</th>\s*<td class="text-end"><a href="([^"]*)"', html)
    assert match, label
    return unescape(match.group(1))


def _listed(client, href: str) -> set[str]:
    return {complaint.reference for complaint in client.get(href).context["object_list"]}


def test_pareto_uncategorised_bar_lists_only_the_uncategorised_complaints(clients, quality_manager, build_data):
    data = build_data()
    loose = make_complaint(qm=quality_manager, customer=data.enterprise, product=data.pump)
    analytics_services.refresh()
    client = clients["quality_manager"]
    html = client.get(HOME, {"period": "3", "product": data.pump.pk}).content.decode()
    period = Period.ending_this_month(3)
    dates = f"received_from={period.start.isoformat()}&received_to={period.last_day.isoformat()}"

    uncategorised = _pareto_href(html, "Uncategorised")
    assert uncategorised == f"/complaints/?category=none&{dates}&product={data.pump.pk}"
    assert _listed(client, uncategorised) == {loose.reference}
    # The other bars still filter by their category, with the same period and product.
    delivery = _pareto_href(html, "Delivery")
    assert delivery == f"/complaints/?category={data.delivery.pk}&{dates}&product={data.pump.pk}"
    listed = _listed(client, delivery)
    assert len(listed) == 3
    assert loose.reference not in listed


def test_complaint_filters_offer_uncategorised(clients, api_clients, quality_manager, build_data):
    data = build_data()
    loose = make_complaint(qm=quality_manager)

    html = clients["quality_manager"].get("/complaints/").content.decode()
    assert '<option value="none">Uncategorised</option>' in html
    results = api_clients["quality_manager"].get("/api/v1/complaints/", {"category": "none"}).json()["results"]
    assert [row["reference"] for row in results] == [loose.reference]
    assert data.delivery.pk not in {row["category"] for row in results}
    parameters = SchemaGenerator().get_schema(public=True)["paths"]["/api/v1/complaints/"]["get"]["parameters"]
    category = next(parameter for parameter in parameters if parameter["name"] == "category")
    assert category["schema"]["type"] == "string"
