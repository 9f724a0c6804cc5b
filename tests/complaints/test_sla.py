from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from apps.complaints import sla, tasks

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(autouse=True)
def _organisation(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    settings.WORKING_HOURS = (8, 17)
    settings.HOLIDAY_COUNTRY = "DE"


def test_working_hours_skip_the_night():
    start = datetime(2026, 11, 18, 16, 0, tzinfo=BERLIN)  # Wednesday 16:00
    assert sla.add_working_seconds(start, 2 * 3600) == datetime(2026, 11, 19, 9, 0, tzinfo=BERLIN)


def test_working_hours_skip_the_weekend():
    start = datetime(2026, 11, 20, 16, 0, tzinfo=BERLIN)  # Friday 16:00
    assert sla.add_working_seconds(start, 2 * 3600) == datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN)


def test_working_hours_skip_public_holidays():
    start = datetime(2026, 12, 24, 16, 0, tzinfo=BERLIN)  # Thursday; 25th and 26th are holidays in Germany
    assert sla.add_working_seconds(start, 2 * 3600) == datetime(2026, 12, 28, 9, 0, tzinfo=BERLIN)


def test_received_outside_hours_starts_at_the_next_opening():
    start = datetime(2026, 11, 21, 11, 0, tzinfo=BERLIN)  # Saturday
    assert sla.add_working_seconds(start, 3600) == datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN)


def test_working_seconds_between_counts_only_working_time():
    start = datetime(2026, 11, 20, 16, 0, tzinfo=BERLIN)
    end = datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN)
    assert sla.working_seconds_between(start, end) == 2 * 3600


def test_policy_comes_from_the_rows_quality_managers_edit(db):
    from apps.complaints.models import SlaPolicy

    assert sla.policies() == sla.DEFAULT_POLICY  # the migration seeded the defaults
    SlaPolicy.objects.filter(severity="low").unaudited_update(respond_days=3, close_days=4)
    assert sla.stage_budgets("low")["respond"] == 3 * 9 * 3600
    assert sla.stage_budgets("high")["respond"] == sla.DEFAULT_POLICY["high"]["respond_days"] * 9 * 3600


def test_check_sla_task_has_its_stable_name(db):
    assert tasks.check_sla_task.name == "complaints.check_sla"
    assert tasks.check_sla_task() == 0
