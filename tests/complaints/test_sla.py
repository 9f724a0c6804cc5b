from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from apps.complaints import services, sla, tasks
from apps.complaints.models import Complaint, ComplaintEscalation

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


# --- a deadline missed stays missed (#24) ---------------------------------------------------------


def _pause_after_missing_the_response(make, quality_manager):
    """An investigated complaint whose response was due ten days ago, then paused for the customer."""
    complaint = make(status=Complaint.Status.INVESTIGATING)
    missed = timezone.now() - timedelta(days=10)
    Complaint.objects.filter(pk=complaint.pk).unaudited_update(respond_due_at=missed)
    services.complaint_transition(
        complaint_id=complaint.pk, to=Complaint.Status.AWAITING_CUSTOMER, actor=quality_manager, reason="photo?"
    )
    return Complaint.objects.get(pk=complaint.pk), missed


def test_a_deadline_missed_before_the_pause_stays_past_sla(make, quality_manager):
    complaint, _missed = _pause_after_missing_the_response(make, quality_manager)
    assert complaint.status == Complaint.Status.AWAITING_CUSTOMER
    assert complaint in Complaint.objects.overdue()
    assert [row["stage"] for row in complaint.sla_rows() if row["missed"]] == ["respond"]


def test_a_deadline_missed_before_the_pause_escalates_once(make, quality_manager):
    complaint, _missed = _pause_after_missing_the_response(make, quality_manager)
    assert services.sla_check() == 1
    assert services.sla_check() == 0
    breach = ComplaintEscalation.objects.get(complaint=complaint, level="breach")
    assert breach.stage == "respond"


def test_the_customer_answering_does_not_move_a_missed_deadline(make, quality_manager):
    complaint, missed = _pause_after_missing_the_response(make, quality_manager)
    # The pause lasted a week (and began after the miss).
    Complaint.objects.filter(pk=complaint.pk).unaudited_update(paused_at=complaint.paused_at - timedelta(days=7))
    close_due = complaint.close_due_at
    services.customer_add_information(complaint_id=complaint.pk, body="Here is the photo.")
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.INVESTIGATING
    assert complaint.respond_due_at == missed
    assert complaint.close_due_at > close_due  # a stage not missed yet still gets the pause back
    assert complaint in Complaint.objects.overdue()


def test_pausing_before_the_deadline_still_stops_the_clock(make):
    complaint = make(status=Complaint.Status.AWAITING_CUSTOMER)
    # The response falls due a minute into the pause; a day later it is still not missed.
    Complaint.objects.filter(pk=complaint.pk).unaudited_update(
        respond_due_at=complaint.paused_at + timedelta(minutes=1)
    )
    later = complaint.paused_at + timedelta(days=1)
    assert not Complaint.objects.overdue(now=later).filter(pk=complaint.pk).exists()
    assert services.sla_check(now=later) == 0
    complaint.refresh_from_db()
    assert not any(row["missed"] for row in complaint.sla_rows(now=later))


def test_the_staff_queue_flags_a_deadline_missed_before_the_pause(make, quality_manager, staff):
    from apps.dashboard.selectors import staff_queue

    complaint, _missed = _pause_after_missing_the_response(make, quality_manager)
    Complaint.objects.filter(pk=complaint.pk).unaudited_update(assignee=staff)

    rows = staff_queue(user=staff)["complaints"]

    assert [(row["complaint"], row["paused"], row["overdue"]) for row in rows] == [(complaint, True, True)]
