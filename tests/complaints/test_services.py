import threading
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from apps.audit.models import AuditEntry
from apps.complaints import services
from apps.complaints.models import Complaint, ComplaintEscalation, ComplaintMessage, RecurrenceAlert
from apps.core.exceptions import BusinessRuleViolation, InvalidTransition
from apps.core.models import OutboundEmail
from tests.complaints.factories import make_category
from tests.customers.factories import ProductFactory

Status = Complaint.Status


def test_create_assigns_reference_token_clocks_and_queues_acknowledgement(
    make, django_capture_on_commit_callbacks, settings
):
    settings.SITE_URL = "https://qms.example"
    with django_capture_on_commit_callbacks():
        complaint = make()
    assert complaint.reference.startswith("CMP-")
    assert len(complaint.reference) == len("CMP-2026-00001")
    assert complaint.token_hash != complaint.tracking_token
    assert services.complaint_for_token(complaint.tracking_token) == complaint
    assert complaint.ack_due_at < complaint.assess_due_at < complaint.respond_due_at < complaint.close_due_at
    email = OutboundEmail.objects.get(idempotency_key=f"complaint-ack:{complaint.pk}")
    assert email.to == "clara@example.org"
    assert f"https://qms.example/complaints/track/{complaint.tracking_token}/" in email.body
    assert complaint.reference in email.subject


def test_personal_data_is_encrypted_and_never_in_the_audit_trail(make):
    complaint = make()
    raw = Complaint.objects.values("name_ct", "email_ct").get(pk=complaint.pk)
    assert "Clara" not in raw["name_ct"]
    assert "clara@" not in raw["email_ct"]
    assert Complaint.objects.get(pk=complaint.pk).complainant_name == "Clara Customer"
    entry = AuditEntry.objects.for_object(complaint).get(action=AuditEntry.Action.CREATE)
    assert "Clara" not in str(entry.changes)
    assert entry.actor_kind == AuditEntry.ActorKind.PUBLIC


def test_references_are_sequential_per_year(make):
    first, second = make(), make()
    assert int(second.reference[-5:]) == int(first.reference[-5:]) + 1


@pytest.mark.django_db(transaction=True)
def test_references_stay_unique_under_concurrency():
    from tests.complaints.factories import make_complaint

    references, errors = [], []

    def create():
        try:
            references.append(make_complaint().reference)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=create) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(set(references)) == 6


def test_staff_may_not_create_without_permission(auditor):
    with pytest.raises(PermissionDenied):
        services.complaint_create(
            actor=auditor, channel="web", complainant_name="A", complainant_email="a@b.c", description="x"
        )


@pytest.mark.parametrize(
    ("start", "to", "allowed"),
    [
        (Status.RECEIVED, Status.ACKNOWLEDGED, True),
        (Status.RECEIVED, Status.CLOSED, False),
        (Status.ACKNOWLEDGED, Status.INVESTIGATING, True),
        (Status.INVESTIGATING, Status.RESPONDED, True),
        (Status.RESPONDED, Status.CLOSED, True),
        (Status.CLOSED, Status.INVESTIGATING, False),
        (Status.REJECTED, Status.ACKNOWLEDGED, False),
        (Status.WITHDRAWN, Status.INVESTIGATING, False),
        (Status.REOPENED, Status.INVESTIGATING, True),
    ],
)
def test_transitions_follow_the_workflow(make, quality_manager, start, to, allowed):
    complaint = make(status=start)
    if to == Status.RESPONDED:
        services.message_add(complaint_id=complaint.pk, actor=quality_manager, body="Answer", visibility="customer")
        services.complaint_assess(complaint_id=complaint.pk, actor=quality_manager, resolution="Refund")
    if allowed:
        services.complaint_transition(complaint_id=complaint.pk, to=to, actor=quality_manager, reason="ok")
        assert Complaint.objects.get(pk=complaint.pk).status == to
        entry = AuditEntry.objects.for_object(complaint).filter(action="transition").latest("seq")
        assert entry.changes["status"][1] == to
    else:
        with pytest.raises(InvalidTransition):
            services.complaint_transition(complaint_id=complaint.pk, to=to, actor=quality_manager, reason="ok")


def test_rejection_needs_a_reason_shown_to_the_customer(make, quality_manager):
    complaint = make()
    with pytest.raises(BusinessRuleViolation):
        services.complaint_transition(complaint_id=complaint.pk, to=Status.REJECTED, actor=quality_manager)
    services.complaint_transition(
        complaint_id=complaint.pk, to=Status.REJECTED, actor=quality_manager, reason="Not our product"
    )
    complaint.refresh_from_db()
    assert complaint.rejection_reason == "Not our product"
    assert AuditEntry.objects.for_object(complaint).latest("seq").reason == "Not our product"


def test_refuses_to_respond_without_a_response(make, quality_manager):
    complaint = make(status=Status.INVESTIGATING)
    with pytest.raises(ValidationError):
        services.complaint_transition(complaint_id=complaint.pk, to=Status.RESPONDED, actor=quality_manager)


def test_staff_change_only_complaints_assigned_to_them(make, staff, other_staff, quality_manager):
    complaint = make(assignee=staff)
    services.complaint_transition(complaint_id=complaint.pk, to=Status.ACKNOWLEDGED, actor=staff)
    with pytest.raises(PermissionDenied):
        services.complaint_transition(complaint_id=complaint.pk, to=Status.INVESTIGATING, actor=other_staff)
    with pytest.raises(PermissionDenied):
        services.complaint_assign(complaint_id=complaint.pk, actor=staff, assignee=staff)


def test_auditor_never_writes(make, auditor):
    complaint = make()
    with pytest.raises(PermissionDenied):
        services.complaint_transition(complaint_id=complaint.pk, to=Status.ACKNOWLEDGED, actor=auditor)
    with pytest.raises(PermissionDenied):
        services.message_add(complaint_id=complaint.pk, actor=auditor, body="x", visibility="internal")


def test_awaiting_customer_pauses_and_the_answer_resumes_the_previous_stage(make, quality_manager):
    complaint = make(status=Status.INVESTIGATING)
    services.complaint_transition(complaint_id=complaint.pk, to=Status.AWAITING_CUSTOMER, actor=quality_manager)
    complaint.refresh_from_db()
    assert complaint.paused_at is not None
    assert complaint.previous_status == Status.INVESTIGATING
    # pretend the pause lasted a working week
    Complaint.objects.filter(pk=complaint.pk).unaudited_update(paused_at=complaint.paused_at - timedelta(days=7))
    before_due = complaint.respond_due_at
    services.customer_add_information(complaint_id=complaint.pk, body="Here is the photo.")
    complaint.refresh_from_db()
    assert complaint.status == Status.INVESTIGATING
    assert complaint.paused_at is None
    assert complaint.paused_seconds > 0
    assert complaint.respond_due_at > before_due


def test_severity_change_recomputes_due_dates_and_is_audited(make, quality_manager):
    complaint = make()
    services.complaint_assess(complaint_id=complaint.pk, actor=quality_manager, severity="critical")
    updated = Complaint.objects.get(pk=complaint.pk)
    assert updated.respond_due_at < complaint.respond_due_at
    entry = AuditEntry.objects.for_object(complaint).latest("seq")
    assert entry.changes["severity"] == ["medium", "critical"]


def test_internal_notes_do_not_mail_the_customer_but_responses_do(
    make, quality_manager, django_capture_on_commit_callbacks
):
    complaint = make()
    before = OutboundEmail.objects.count()
    services.message_add(complaint_id=complaint.pk, actor=quality_manager, body="Internal", visibility="internal")
    assert OutboundEmail.objects.count() == before
    services.message_add(complaint_id=complaint.pk, actor=quality_manager, body="Reply", visibility="customer")
    assert [email.to for email in OutboundEmail.objects.all()] == ["clara@example.org"] * 2


@pytest.mark.parametrize(("rating", "flagged"), [(1, True), (2, True), (3, False), (5, False)])
def test_rating_once_after_closure_and_low_ratings_flag(make, rating, flagged, quality_manager):
    complaint = make(status=Status.CLOSED)
    services.complaint_rate(complaint_id=complaint.pk, rating=rating, comment="ok")
    complaint.refresh_from_db()
    assert complaint.flagged is flagged
    alerts = [e for e in OutboundEmail.objects.all() if e.to == quality_manager.email and "rating" in e.subject]
    assert bool(alerts) is flagged
    with pytest.raises(BusinessRuleViolation):
        services.complaint_rate(complaint_id=complaint.pk, rating=4)


def test_rating_refused_before_closure(make):
    complaint = make(status=Status.RESPONDED)
    with pytest.raises(BusinessRuleViolation):
        services.complaint_rate(complaint_id=complaint.pk, rating=5)


def test_customer_reopens_only_within_the_window(make, settings):
    settings.COMPLAINT_REOPEN_DAYS = 14
    complaint = make(status=Status.CLOSED)
    services.complaint_reopen(complaint_id=complaint.pk, actor="public", reason="Broke again")
    assert Complaint.objects.get(pk=complaint.pk).status == Status.REOPENED
    late = make(status=Status.CLOSED)
    Complaint.objects.filter(pk=late.pk).unaudited_update(closed_at=late.closed_at - timedelta(days=15))
    with pytest.raises(BusinessRuleViolation):
        services.complaint_reopen(complaint_id=late.pk, actor="public", reason="Broke again")


def test_sla_breach_escalates_once_even_when_run_twice(make, quality_manager):
    complaint = make()
    past = complaint.received_at - timedelta(days=60)
    Complaint.objects.filter(pk=complaint.pk).unaudited_update(received_at=past)
    complaint.refresh_from_db()
    services.recompute_due(complaint)
    Complaint.objects.filter(pk=complaint.pk).unaudited_update(
        ack_due_at=complaint.ack_due_at,
        assess_due_at=complaint.assess_due_at,
        respond_due_at=complaint.respond_due_at,
        close_due_at=complaint.close_due_at,
    )
    first = services.sla_check()
    second = services.sla_check()
    assert first == 4
    assert second == 0
    assert ComplaintEscalation.objects.filter(complaint=complaint, level="breach").count() == 4
    assert Complaint.objects.get(pk=complaint.pk).escalated
    assert OutboundEmail.objects.filter(idempotency_key__startswith=f"complaint-sla:{complaint.pk}:").count() == 4
    assert AuditEntry.objects.for_object(complaint).filter(reason__startswith="SLA breach").count() == 4


@pytest.mark.django_db(transaction=True)
def test_overlapping_sla_runs_escalate_each_stage_once():
    from tests.complaints.factories import make_complaint
    from tests.factories import UserFactory

    UserFactory(email="qm2@example.com", role="quality_manager")
    complaint = make_complaint()
    Complaint.objects.filter(pk=complaint.pk).unaudited_update(ack_due_at=complaint.received_at)
    results = []

    def run():
        try:
            results.append(services.sla_check())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert ComplaintEscalation.objects.filter(complaint=complaint, stage="acknowledge", level="breach").count() == 1
    assert OutboundEmail.objects.filter(idempotency_key__startswith=f"complaint-sla:{complaint.pk}:").count() == 1


def test_paused_complaints_do_not_escalate(make, quality_manager):
    complaint = make(status=Status.AWAITING_CUSTOMER)
    # Due a second into the pause: the clock had stopped, so it is not missed (a deadline
    # missed before the pause is, see tests/complaints/test_sla.py).
    Complaint.objects.filter(pk=complaint.pk).unaudited_update(close_due_at=complaint.paused_at + timedelta(seconds=1))
    assert services.sla_check(now=complaint.paused_at + timedelta(days=30)) == 0


def test_recurrence_alerts_quality_managers_once_per_window(make, quality_manager):
    category, product = make_category(), ProductFactory()
    complaints = [make() for _ in range(4)]
    for complaint in complaints:
        services.complaint_assess(complaint_id=complaint.pk, actor=quality_manager, category=category, product=product)
        services.recurrence_check(complaint_id=complaint.pk)
    assert RecurrenceAlert.objects.count() == 1
    assert sum(e.subject.startswith("Recurring complaints") for e in OutboundEmail.objects.all()) == 1


def test_message_visibility_check_constraint(make):
    complaint = make()
    with pytest.raises(Exception):  # noqa: B017, PT011 - the database refuses it
        ComplaintMessage.objects.create(complaint=complaint, visibility="internal", author_kind="customer", body="x")


def test_demo_is_idempotent_and_covers_every_state(quality_manager, staff, auditor):
    from apps.accounts.roles import Role
    from apps.complaints import demo

    users = {Role.QUALITY_MANAGER: quality_manager, Role.STAFF: staff, Role.AUDITOR: auditor}
    demo.load(users)
    count = Complaint.objects.count()
    demo.load(users)
    assert Complaint.objects.count() == count == 20
    assert set(Complaint.objects.values_list("status", flat=True)) == set(Status.values)
    assert Complaint.objects.overdue().exists()
