"""Review services: the lifecycle, decisions that become tracked actions, report versions,
distribution, the append-only records, and who may do what."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, ProgrammingError, connection, transaction
from django.utils import timezone

from apps.actions.models import CorrectiveAction
from apps.audit.models import AuditEntry
from apps.core.exceptions import BusinessRuleViolation, InvalidTransition
from apps.core.models import OutboundEmail
from apps.core.services import email_send
from apps.reviews import services
from apps.reviews.models import ReviewJob, ReviewReport, ReviewSnapshot, ReviewStatus
from tests.reviews.conftest import compiled, make_review, run_jobs

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


def _held(qm, review, **extra):
    return services.review_hold(
        review_id=review.pk, actor=qm, held_on=TODAY(), attendees="Quinn Manager, Maria Director", **extra
    )


def test_create_validates_the_facts(quality_manager):
    with pytest.raises(BusinessRuleViolation, match="end on or after"):
        make_review(quality_manager, start=date(2026, 3, 1), end=date(2026, 2, 1))
    with pytest.raises(BusinessRuleViolation, match="not an e-mail address"):
        make_review(quality_manager, distribution="ceo@example.com\nnot-an-address")
    with pytest.raises(BusinessRuleViolation, match="before the period starts"):
        make_review(quality_manager, meeting=date(2026, 1, 1))
    two_years = date(2024, 1, 1) + timedelta(days=services.MAX_PERIOD_DAYS)
    with pytest.raises(BusinessRuleViolation, match="at most two years"):
        make_review(quality_manager, start=date(2024, 1, 1), end=two_years + timedelta(days=1), meeting=two_years)
    assert make_review(quality_manager, start=date(2024, 1, 1), end=two_years, meeting=two_years).pk
    addresses = [f"member{n}@example.com" for n in range(51)]
    with pytest.raises(BusinessRuleViolation, match="at most 50 addresses"):
        make_review(quality_manager, distribution="\n".join(addresses))
    assert len(make_review(quality_manager, distribution="\n".join(addresses[:50])).recipients) == 50
    # Another period: the same one twice is refused (tests/reviews/test_overlaps.py).
    review = make_review(
        quality_manager,
        start=date(2026, 4, 1),
        end=date(2026, 6, 30),
        meeting=date(2026, 7, 6),
        distribution="CEO@example.com; ceo@example.com, coo@example.com",
    )
    assert review.reference.startswith(f"MR-{TODAY().year}-")
    assert review.status == ReviewStatus.PLANNED
    assert review.distribution == "CEO@example.com\ncoo@example.com"
    assert AuditEntry.objects.filter(object_id=str(review.pk), action=AuditEntry.Action.CREATE).count() == 1


@pytest.mark.parametrize("persona", ["staff", "auditor"])
def test_only_quality_managers_write(request, persona, quality_manager, review):
    user = request.getfixturevalue(persona)
    calls = [
        lambda: make_review(user),
        lambda: services.review_update(review_id=review.pk, actor=user, audit_results="x"),
        lambda: services.review_request_compile(review_id=review.pk, actor=user),
        lambda: services.decision_add(review_id=review.pk, actor=user, kind="improvement", text="x"),
        lambda: services.review_close(review_id=review.pk, actor=user),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied):
            call()
    assert ReviewJob.objects.count() == 0


def test_compile_is_one_job_at_a_time_and_the_job_runs_once(quality_manager, review):
    services.review_request_compile(review_id=review.pk, actor=quality_manager)
    with pytest.raises(BusinessRuleViolation, match="already being prepared"):
        services.review_request_compile(review_id=review.pk, actor=quality_manager)
    job = ReviewJob.objects.get()
    report = services.job_run(job_id=job.pk)
    assert services.job_run(job_id=job.pk) is None  # a duplicate message does nothing
    assert ReviewReport.objects.get() == report
    job.refresh_from_db()
    assert (job.status, job.attempts) == (ReviewJob.Status.DONE, 1)


def test_a_failure_mid_generation_leaves_nothing_and_the_rerun_makes_one_report(monkeypatch, quality_manager, review):
    from apps.reviews import report as rendering

    real = rendering.render_pdf
    monkeypatch.setattr(rendering, "render_pdf", lambda **kwargs: (_ for _ in ()).throw(OSError("disk full")))
    services.review_request_compile(review_id=review.pk, actor=quality_manager)
    job = ReviewJob.objects.get()
    with pytest.raises(OSError, match="disk full"):
        services.job_run(job_id=job.pk)
    job.refresh_from_db()
    review.refresh_from_db()
    assert (job.status, job.attempts, review.status) == (ReviewJob.Status.QUEUED, 1, ReviewStatus.PLANNED)
    assert job.error == "OSError: disk full"
    assert ReviewSnapshot.objects.count() == 0
    assert ReviewReport.objects.count() == 0
    monkeypatch.setattr(rendering, "render_pdf", real)
    report = services.job_run(job_id=job.pk)
    assert ReviewReport.objects.get() == report
    assert ReviewSnapshot.objects.get().number == 1
    assert ReviewJob.objects.get().error == ""


def test_regenerating_adds_a_version_and_keeps_the_old_file(quality_manager, review):
    first = compiled(quality_manager, review)
    services.review_request_report(review_id=review.pk, actor=quality_manager)
    (second,) = run_jobs(review)
    assert (first.version, second.version) == (1, 2)
    assert second.snapshot_id == first.snapshot_id  # same frozen inputs
    assert services.report_path(first.file_name).exists()
    assert services.report_path(second.file_name).exists()
    assert first.file_name != second.file_name
    assert AuditEntry.objects.filter(content_type__model="reviewreport").count() == 2


def test_snapshots_and_reports_cannot_be_changed_in_the_database(quality_manager, review):
    report = compiled(quality_manager, review)
    for table in ("reviews_reviewsnapshot", "reviews_reviewreport"):
        for statement in (f"UPDATE {table} SET id = id", f"DELETE FROM {table}"):  # noqa: S608 - fixed names
            with pytest.raises(ProgrammingError, match="immutable"), transaction.atomic(), connection.cursor() as cur:
                cur.execute(statement)
    assert ReviewReport.objects.get() == report


def test_the_lifecycle_and_its_refusals(quality_manager, staff, review):
    with pytest.raises(InvalidTransition):
        _held(quality_manager, review)
    with pytest.raises(BusinessRuleViolation, match="once the inputs are compiled"):
        services.decision_add(review_id=review.pk, actor=quality_manager, kind="improvement", text="More training")
    compiled(quality_manager, review)
    services.review_update(review_id=review.pk, actor=quality_manager, audit_results="Two minor findings.")
    with pytest.raises(BusinessRuleViolation, match="period cannot change"):
        services.review_update(review_id=review.pk, actor=quality_manager, period_start=date(2026, 1, 1))
    with pytest.raises(BusinessRuleViolation, match="not in the future"):
        services.review_hold(
            review_id=review.pk, actor=quality_manager, held_on=TODAY() + timedelta(days=1), attendees="Quinn"
        )
    with pytest.raises(BusinessRuleViolation, match="who attended"):
        services.review_hold(review_id=review.pk, actor=quality_manager, held_on=TODAY(), attendees=" ")
    _held(quality_manager, review, minutes="Agreed the budget.")
    with pytest.raises(BusinessRuleViolation, match="no longer be edited"):
        services.review_update(review_id=review.pk, actor=quality_manager, audit_results="changed")
    with pytest.raises(BusinessRuleViolation, match="are final"):
        services.review_request_compile(review_id=review.pk, actor=quality_manager)
    with pytest.raises(BusinessRuleViolation, match="owner and a due date"):
        services.decision_add(
            review_id=review.pk, actor=quality_manager, kind="resources", text="Hire", action_title="Hire a tester"
        )
    with pytest.raises(BusinessRuleViolation, match="cannot be in the past"):
        services.decision_add(
            review_id=review.pk,
            actor=quality_manager,
            kind="resources",
            text="Hire",
            action_title="Hire a tester",
            action_owner=staff,
            action_due=TODAY() - timedelta(days=1),
        )
    assert CorrectiveAction.objects.count() == 0
    services.review_close(review_id=review.pk, actor=quality_manager)
    review.refresh_from_db()
    assert review.status == ReviewStatus.CLOSED
    (final,) = run_jobs(review)
    assert final.version == 2
    assert final.content["sections"][1]["text"] == "Two minor findings."
    assert final.content["minutes"] == "Agreed the budget."
    with pytest.raises(BusinessRuleViolation, match="final report"):
        services.review_request_report(review_id=review.pk, actor=quality_manager)


def test_a_decision_with_an_action_is_tracked_and_shows_in_the_next_review(quality_manager, staff, review):
    compiled(quality_manager, review)
    due = TODAY() + timedelta(days=30)
    decision = services.decision_add(
        review_id=review.pk,
        actor=quality_manager,
        kind="improvement",
        text="Shorten the response time to complaints.",
        action_title="Add a second complaint handler",
        action_owner=staff,
        action_due=due,
    )
    action = decision.action
    assert action.owner == staff
    assert action.source == decision
    assert list(action.plan_items.values_list("description", "due_date")) == [("Add a second complaint handler", due)]
    _held(quality_manager, review)
    services.review_close(review_id=review.pk, actor=quality_manager)
    run_jobs(review)

    following = make_review(quality_manager, start=date(2026, 4, 1), end=date(2026, 6, 30), meeting=date(2026, 7, 6))
    report = compiled(quality_manager, following)
    rows = report.snapshot.data["actions_from_previous_reviews"]
    assert [(r["review"], r["reference"], r["owner"], r["next_due"], r["open_items"]) for r in rows] == [
        (review.reference, action.reference, staff.display_name, due.isoformat(), 1)
    ]
    assert report.snapshot.data["previous_review"]["reference"] == review.reference


def test_the_report_goes_to_the_distribution_list_once_attached_or_linked(settings, quality_manager, review):
    services.review_request_compile(review_id=review.pk, actor=quality_manager, distribute=True)
    (report,) = run_jobs(review)
    emails = sorted(OutboundEmail.objects.all(), key=lambda e: e.to)
    assert [e.to for e in emails] == ["ceo@example.com", "coo@example.com"]
    assert all(e.attachment_path == report.file_name for e in emails)
    services.report_distribute(report=report)  # again: the idempotency key holds
    assert OutboundEmail.objects.count() == 2
    email_send(email_id=emails[0].pk)
    (message,) = mail.outbox
    (attachment,) = message.attachments
    assert attachment[0] == report.download_name
    assert attachment[1] == services.report_path(report.file_name).read_bytes()
    assert attachment[2] == "application/pdf"
    assert report.get_absolute_url() in message.body

    settings.REVIEW_REPORT_ATTACH_MAX_BYTES = report.size - 1
    services.review_request_report(review_id=review.pk, actor=quality_manager, distribute=True)
    (larger,) = run_jobs(review)
    linked = [e for e in OutboundEmail.objects.all() if f"version {larger.version}" in e.subject]
    assert len(linked) == 2
    assert {e.attachment_path for e in linked} == {""}
    assert "too large to attach" in linked[0].body


def test_one_review_per_scheduled_period_is_a_database_rule(quality_manager):
    schedule = services.schedule_save(
        actor=quality_manager, name="Quarterly", interval=3, chair=quality_manager, next_period_start=date(2026, 1, 1)
    )
    services.schedule_tick(now=schedule.next_run_at)
    review = schedule.reviews.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        type(review).objects.create(
            reference="MR-X",
            title="again",
            schedule=schedule,
            period_start=review.period_start,
            period_end=review.period_end,
            meeting_date=review.meeting_date,
            chair=quality_manager,
        )


def test_the_sweeper_resends_stalled_jobs_and_gives_up_after_the_last_attempt(quality_manager, review):
    job = services.review_request_compile(review_id=review.pk, actor=quality_manager)
    later = timezone.now() + timedelta(minutes=5)
    assert services.sweep_jobs(now=later) == [job.pk]  # queued, its message lost
    stale = timezone.now() - timedelta(hours=1)
    ReviewJob.objects.filter(pk=job.pk).update(status=ReviewJob.Status.RUNNING, heartbeat_at=stale, attempts=1)
    assert services.sweep_jobs() == [job.pk]  # its worker died
    ReviewJob.objects.filter(pk=job.pk).update(attempts=services.JOB_MAX_ATTEMPTS)
    assert services.sweep_jobs() == []
    job.refresh_from_db()
    assert job.status == ReviewJob.Status.FAILED
    services.review_request_compile(review_id=review.pk, actor=quality_manager)  # a new one may be asked for


def test_a_compile_computes_each_kpi_once_per_period(quality_manager, review):
    """The complaint figures and the KPI table ask for the same stage-time percentiles; each one
    sorts a period's complaints, so the compile asks PostgreSQL once per KPI and period."""
    from django.test.utils import CaptureQueriesContext

    from apps.analytics import kpis
    from apps.reviews.inputs import compile_inputs

    with CaptureQueriesContext(connection) as queries:
        data = compile_inputs(review)
    percentiles = [query for query in queries.captured_queries if "percentile_cont" in query["sql"]]
    stage_kpis = [
        kpis.Kpi.ACK_MEDIAN_HOURS,
        kpis.Kpi.ACK_P90_HOURS,
        kpis.Kpi.RESPOND_MEDIAN_DAYS,
        kpis.Kpi.RESPOND_P90_DAYS,
    ]
    assert len(percentiles) == 2 * len(stage_kpis)  # this period and the previous one
    table = {row["key"]: row for row in data["kpis"]}
    for key in stage_kpis:
        assert table[key]["current"] == kpis.compute(
            key, start=review.period_start, end=review.period_end + timedelta(days=1)
        )


def test_the_distributed_report_links_to_site_url(settings, quality_manager, review):
    settings.SITE_URL = "http://127.0.0.1:8100"
    services.review_request_compile(review_id=review.pk, actor=quality_manager, distribute=True)
    (report,) = run_jobs(review)
    email = OutboundEmail.objects.order_by("pk").first()
    assert f"http://127.0.0.1:8100{report.get_absolute_url()}" in email.body
