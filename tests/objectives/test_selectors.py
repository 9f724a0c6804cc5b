"""The dashboard's status table: active objectives only, latest figure, trend, fixed query count."""

from datetime import date
from decimal import Decimal

from apps.objectives import selectors, services
from apps.objectives.models import Performance
from tests.objectives.factories import make_objective


def _record(objective, actor, month, value):
    services.measurement_record(objective_id=objective.pk, period_start=date(2026, month, 1), value=value, actor=actor)


def test_status_table_lists_active_objectives_with_latest_and_trend(quality_manager, staff, objective):
    make_objective(actor=quality_manager, title="Still a draft", activate=False)
    _record(objective, staff, 1, Decimal("6.9"))
    _record(objective, staff, 2, Decimal("6.5"))
    _record(objective, staff, 3, None)  # no data for March

    rows = selectors.status_table(user=quality_manager)

    assert [row["objective"].pk for row in rows] == [objective.pk]
    row = rows[0]
    assert row["url"] == f"/objectives/{objective.pk}/"
    assert row["latest"] == Decimal("6.5")
    assert row["target"] == Decimal("5")
    assert row["unit"] == "days"
    assert row["trend"] == [Decimal("6.9"), Decimal("6.5"), None]
    # February ends on day 58 of 181: planned 7 - 2 * 58/181 = 6.359; 6.5 is 0.14 behind, within 0.2
    assert row["performance"] == Performance.AT_RISK
    assert row["performance_label"] == "At risk"


def test_status_table_trend_keeps_the_twelve_latest_oldest_first(quality_manager, staff):
    objective = make_objective(
        actor=quality_manager, owner=staff, baseline_date=date(2025, 1, 1), target_date=date(2026, 12, 31)
    )
    for month in range(1, 13):
        services.measurement_record(
            objective_id=objective.pk, period_start=date(2025, month, 1), value=Decimal(month), actor=staff
        )
    _record(objective, staff, 1, Decimal("13"))
    trend = selectors.status_table(user=staff)[0]["trend"]
    assert trend == [Decimal(n) for n in range(2, 14)]


def test_status_table_query_count_does_not_grow(quality_manager, staff, django_assert_max_num_queries):
    for index in range(5):
        objective = make_objective(actor=quality_manager, owner=staff, title=f"Objective {index}")
        _record(objective, staff, 1, Decimal("6.9"))
    quality_manager.refresh_from_db()
    selectors.status_table(user=quality_manager)  # warm the permission cache
    with django_assert_max_num_queries(2):
        rows = selectors.status_table(user=quality_manager)
        assert all(row["objective"].owner.email for row in rows)
    assert len(rows) == 5


def test_status_table_is_empty_for_the_public(anonymous, objective):
    assert selectors.status_table(user=anonymous) == []


def test_figures_are_plain_decimals_never_in_exponent_form():
    from apps.objectives.templatetags.objectives_tags import plain

    assert str(plain(Decimal("50.0000"))) == "50"
    assert str(plain(Decimal("6.5000"))) == "6.5"
    assert str(plain(Decimal("-0.2500"))) == "-0.25"
    assert plain(None) is None
