"""Objective papercuts from #24: a status that contradicts the figure beside it, and a channel
filter that offered "Web form" twice (one complaints' value, one feedback's)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.objectives import kpi_catalogue, selectors, services
from apps.objectives.forms import ObjectiveForm
from apps.objectives.models import Performance
from tests.objectives.factories import make_objective


@pytest.fixture
def running_only(quality_manager, staff):
    """An objective whose only figure is the running month's: nothing is judged yet."""
    today = timezone.localdate()
    objective = make_objective(
        actor=quality_manager,
        owner=staff,
        baseline_date=today.replace(day=1),
        target_date=date(today.year + 1, today.month, 1),
    )
    services.measurement_record(objective_id=objective.pk, period_start=today, value=Decimal("6.9"), actor=staff)
    return objective


def test_a_running_period_figure_is_not_called_no_data(quality_manager, running_only):
    row = selectors.status_table(user=quality_manager)[0]

    assert row["latest"] == Decimal("6.9")
    assert row["performance"] == Performance.NO_DATA  # the rule judges finished periods only
    assert row["performance_label"] == "Not judged yet"
    assert row["latest_provisional"] is True


def test_dashboard_and_objective_page_say_not_judged_yet_beside_a_provisional_figure(clients, running_only):
    html = clients["quality_manager"].get(reverse("dashboard:home")).content.decode()
    dashboard = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))
    page = clients["quality_manager"].get(reverse("objectives:objective_detail", args=[running_only.pk]))

    assert "Not judged yet" in dashboard
    assert "6.9 days (provisional)" in dashboard
    assert "Not judged yet" in page.content.decode()


def test_without_any_figure_it_is_still_no_data(quality_manager, staff):
    make_objective(actor=quality_manager, owner=staff)

    row = selectors.status_table(user=quality_manager)[0]

    assert row["performance_label"] == "No data"
    assert row["latest_provisional"] is False


def test_a_judged_figure_is_not_provisional(quality_manager, staff, objective):
    services.measurement_record(
        objective_id=objective.pk, period_start=date(2026, 2, 1), value=Decimal("6.5"), actor=staff
    )

    row = selectors.status_table(user=quality_manager)[0]

    assert row["latest_provisional"] is False
    assert row["performance_label"] == "At risk"


def _options(form: ObjectiveForm) -> list[tuple[str, str, str]]:
    """(group, value, label) of every channel option as the select renders them."""
    rendered = []
    for group, options in form.fields["filter_channel"].choices:
        if isinstance(options, list | tuple):
            rendered += [(str(group), value, str(label)) for value, label in options]
        else:
            rendered.append(("", group, str(options)))
    return rendered


def test_the_channel_filter_offers_each_channel_once_under_its_source(db):
    options = _options(ObjectiveForm())

    labels = [(group, label) for group, _value, label in options]
    assert len(labels) == len(set(labels)), labels
    assert ("Complaints", "web", "Web form") in options
    assert ("Feedback", "web_form", "Web form") in options


@pytest.mark.parametrize(
    ("kpi", "channel", "valid"),
    [
        ("respond_median_days", "web", True),
        ("respond_median_days", "web_form", False),
        ("negative_feedback_share", "web_form", True),
        ("negative_feedback_share", "web", False),
    ],
)
def test_the_channel_must_be_one_the_kpi_counts(db, staff, kpi, channel, valid):
    form = ObjectiveForm(
        data={
            "title": "Faster responses",
            "plan": "Triage daily.",
            "owner": staff.pk,
            "kpi_kind": "computed",
            "kpi": kpi,
            "filter_channel": channel,
            "baseline_value": "7",
            "baseline_date": "2026-01-01",
            "target_value": "5",
            "target_date": "2026-07-01",
            "direction": "lower",
            "unit": "days",
            "period": "monthly",
        }
    )

    assert form.is_valid() is valid, form.errors
    if not valid:
        assert "filter_channel" in form.errors
    assert kpi_catalogue.channel_fits(kpi, channel) is valid
