"""Review pages: who sees what, who may do what (every refusal changes nothing), the forms'
messages, the stored report as a page and a download, and bounded queries."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.reviews.models import ManagementReview, ReviewDecision, ReviewJob, ReviewReport, ReviewSchedule
from tests.reviews.conftest import compiled, make_review, run_jobs

pytestmark = pytest.mark.django_db
LOGIN = "/accounts/login/"
OUTSIDERS = [("staff", 403), ("other_staff", 403), ("auditor", 403), ("anonymous", 302)]


@pytest.fixture
def report(quality_manager, review):
    return compiled(quality_manager, review)


@pytest.mark.parametrize(
    ("persona", "expected"), [("quality_manager", 200), ("auditor", 200), ("staff", 403), ("anonymous", 302)]
)
def test_reading_reviews_and_reports(clients, review, report, persona, expected):
    client = clients[persona]
    base = f"/reviews/{review.pk}/"
    for url in ("/reviews/", base, f"{base}reports/1/", f"{base}reports/1/download/", "/reviews/schedules/"):
        response = client.get(url)
        assert response.status_code == expected, url
        if response.streaming:
            b"".join(response.streaming_content)  # read to the end, which closes the file
        if expected == 302:
            assert response["Location"].startswith(LOGIN)
    if expected == 200:
        download = client.get(f"{base}reports/1/download/")
        assert b"".join(download.streaming_content).startswith(b"%PDF")
        assert download["Content-Disposition"] == f'attachment; filename="{report.download_name}"'


def test_a_download_is_recorded_and_an_unknown_version_is_404(clients, auditor, review, report):
    response = clients["auditor"].get(f"/reviews/{review.pk}/reports/1/download/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT).get()
    assert (entry.actor, entry.object_id) == (auditor, str(report.pk))
    assert clients["auditor"].get(f"/reviews/{review.pk}/reports/2/").status_code == 404
    assert clients["auditor"].get(f"/reviews/{review.pk + 99}/reports/1/download/").status_code == 404


def test_the_report_page_shows_the_frozen_figures(clients, dataset, review, report):
    page = clients["auditor"].get(f"/reviews/{review.pk}/reports/1/").content.decode()
    assert review.reference in page
    assert "-66.7 points" in page  # NPS of the period, as frozen
    assert 'data-testid="download"' in page


@pytest.mark.parametrize(("persona", "expected"), OUTSIDERS)
def test_every_write_is_refused_to_all_but_quality_managers(
    clients, quality_manager, review, report, persona, expected
):
    ReviewSchedule.objects.create(
        name="Q", chair=quality_manager, next_period_start=date(2026, 1, 1), next_run_at=timezone.now()
    )
    schedule = ReviewSchedule.objects.get()
    entries = AuditEntry.objects.count()
    base = f"/reviews/{review.pk}/"
    posts = {
        "/reviews/new/": {"title": "x"},
        f"{base}edit/": {"title": "x"},
        f"{base}compile/": {},
        f"{base}regenerate/": {},
        f"{base}hold/": {"held_on": "2026-04-01", "attendees": "x"},
        f"{base}decisions/new/": {"kind": "improvement", "text": "x"},
        f"{base}close/": {},
        "/reviews/schedules/new/": {"name": "x"},
        f"/reviews/schedules/{schedule.pk}/edit/": {"name": "x"},
    }
    for url, data in posts.items():
        response = clients[persona].post(url, data)
        assert response.status_code == expected, url
    assert AuditEntry.objects.count() == entries
    assert ManagementReview.objects.get().title == review.title
    assert ReviewJob.objects.filter(status=ReviewJob.Status.QUEUED).count() == 0
    assert ReviewDecision.objects.count() == 0


def test_a_quality_manager_plans_a_review_and_bad_input_gets_messages(clients, quality_manager):
    client = clients["quality_manager"]
    bad = client.post(
        "/reviews/new/",
        {"title": "Extra", "period_start": "2026-03-01", "period_end": "2026-02-01", "meeting_date": "2026-03-10"},
    )
    assert bad.status_code == 200
    assert "This field is required." in bad.content.decode()  # the chair
    bad = client.post(
        "/reviews/new/",
        {
            "title": "Extra",
            "period_start": "2026-03-01",
            "period_end": "2026-02-01",
            "meeting_date": "2026-03-10",
            "chair": quality_manager.pk,
        },
    )
    assert "The period must end on or after its first day." in bad.content.decode()
    assert not ManagementReview.objects.exists()
    good = client.post(
        "/reviews/new/",
        {
            "title": "Extra",
            "period_start": "2026-01-01",
            "period_end": "2026-03-31",
            "meeting_date": "2026-04-10",
            "chair": quality_manager.pk,
            "distribution": "ceo@example.com",
        },
    )
    review = ManagementReview.objects.get()
    assert good["Location"] == f"/reviews/{review.pk}/"


def test_compile_hold_decide_and_close_from_the_page(clients, quality_manager, staff, review):
    client = clients["quality_manager"]
    base = f"/reviews/{review.pk}/"
    assert client.post(f"{base}compile/").status_code == 302
    assert ReviewJob.objects.filter(status=ReviewJob.Status.QUEUED).count() == 1
    page = client.get(base).content.decode()
    assert 'data-testid="job-busy"' in page
    assert 'data-testid="compile"' not in page
    run_jobs(review)
    refused = client.post(f"{base}hold/", {"held_on": (timezone.localdate() + timedelta(days=3)).isoformat()})
    assert refused.status_code == 400
    assert "This field is required." in refused.content.decode()
    assert (
        client.post(f"{base}hold/", {"held_on": timezone.localdate().isoformat(), "attendees": "QM"}).status_code == 302
    )
    refused = client.post(
        f"{base}decisions/new/", {"kind": "improvement", "text": "Faster", "action_title": "Hire", "action_owner": ""}
    )
    assert "An action needs an owner and a due date." in refused.content.decode()
    due = (timezone.localdate() + timedelta(days=20)).isoformat()
    decided = client.post(
        f"{base}decisions/new/",
        {"kind": "improvement", "text": "Faster", "action_title": "Hire", "action_owner": staff.pk, "action_due": due},
    )
    assert decided.status_code == 302
    assert client.post(f"{base}close/").status_code == 302
    review.refresh_from_db()
    assert review.status == "closed"
    assert ReviewDecision.objects.get().action.owner == staff


def test_a_schedule_shows_its_next_compilation(clients, quality_manager):
    response = clients["quality_manager"].post(
        "/reviews/schedules/new/",
        {
            "name": "Quarterly",
            "active": "on",
            "interval": 3,
            "next_period_start": "2027-01-01",
            "meeting_week": 1,
            "meeting_weekday": 0,
            "lead_days": 7,
            "chair": quality_manager.pk,
        },
    )
    assert response.status_code == 302
    # Q1 2027 -> meeting on the first Monday of April (5 April); 7 days before would be 29 March,
    # but the inputs wait until the period is over: 1 April at 06:00.
    schedule = ReviewSchedule.objects.get()
    assert timezone.localtime(schedule.next_run_at).strftime("%Y-%m-%d %H:%M") == "2027-04-01 06:00"
    bad = clients["quality_manager"].post(
        f"/reviews/schedules/{schedule.pk}/edit/",
        {
            "name": "Q",
            "interval": 3,
            "next_period_start": "2027-01-15",
            "meeting_week": 1,
            "meeting_weekday": 0,
            "lead_days": 7,
            "chair": quality_manager.pk,
        },
    )
    assert "A review period starts on the first day of a month." in bad.content.decode()


@pytest.mark.parametrize("reviews", [2, 12])
def test_list_and_detail_run_a_bounded_number_of_queries(
    clients, quality_manager, staff, django_assert_max_num_queries, reviews
):
    for n in range(reviews):
        make_review(
            quality_manager,
            title=f"Review {n}",
            start=date(2020 + n, 1, 1),
            end=date(2020 + n, 3, 31),
            meeting=date(2020 + n, 4, 6),
        )
    with django_assert_max_num_queries(10):
        response = clients["auditor"].get("/reviews/")
    assert len(response.context["reviews"]) == reviews
    review = ManagementReview.objects.order_by("pk").first()
    with django_assert_max_num_queries(16):
        assert clients["auditor"].get(f"/reviews/{review.pk}/").status_code == 200
    assert ReviewReport.objects.count() == 0


@pytest.mark.parametrize("day", ["9999-12-01", "0001-01-01"])
def test_a_schedule_outside_the_calendar_is_a_form_error(clients, quality_manager, day):
    response = clients["quality_manager"].post(
        "/reviews/schedules/new/",
        {
            "name": "Quarterly",
            "active": "on",
            "interval": 3,
            "next_period_start": day,
            "meeting_week": 1,
            "meeting_weekday": 0,
            "lead_days": 7,
            "chair": quality_manager.pk,
        },
    )
    assert response.status_code == 200
    assert "1900-01-01" in response.context["form"].errors["next_period_start"][0]
    assert not ReviewSchedule.objects.exists()
