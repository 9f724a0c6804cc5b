"""The management-review API: role x outcome, validation as JSON 4xx, mass assignment, steps, PDFs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.reviews.models import ManagementReview, ReviewJob, ReviewSchedule
from tests.reviews.conftest import compiled, run_jobs

pytestmark = pytest.mark.django_db
API = "/api/v1/reviews/"


def _payload(chair, **overrides):
    return {
        "title": "Extraordinary review",
        "period_start": "2026-01-01",
        "period_end": "2026-03-31",
        "meeting_date": "2026-04-10",
        "chair": chair.pk,
        "distribution": "ceo@example.com",
        **overrides,
    }


@pytest.mark.parametrize(
    ("persona", "expected"), [("quality_manager", 200), ("auditor", 200), ("staff", 403), ("anonymous", 401)]
)
def test_read(api_clients, quality_manager, review, persona, expected):
    compiled(quality_manager, review)
    client = api_clients[persona]
    responses = [
        client.get(API),
        client.get(f"{API}{review.pk}/"),
        client.get(f"{API}{review.pk}/decisions/"),
        client.get(f"{API}{review.pk}/reports/"),
        client.get("/api/v1/review-schedules/"),
    ]
    assert [r.status_code for r in responses] == [expected] * 5
    if expected == 200:
        assert responses[1].json()["status"] == "compiled"
        assert [r["version"] for r in responses[3].json()] == [1]
        pdf = client.get(f"{API}{review.pk}/reports/1/pdf/")
        assert b"".join(pdf.streaming_content).startswith(b"%PDF")
        assert client.get(f"{API}{review.pk}/reports/9/pdf/").status_code == 404


@pytest.mark.parametrize(("persona", "expected"), [("staff", 403), ("auditor", 403), ("anonymous", 401)])
def test_writes_are_refused_to_all_but_quality_managers(api_clients, quality_manager, review, persona, expected):
    client = api_clients[persona]
    base = f"{API}{review.pk}/"
    responses = [
        client.post(API, _payload(quality_manager), format="json"),
        client.patch(base, {"title": "x"}, format="json"),
        client.post(f"{base}compile/", {}, format="json"),
        client.post(f"{base}decisions/", {"kind": "improvement", "text": "x"}, format="json"),
        client.post(f"{base}close/", {}, format="json"),
        client.post("/api/v1/review-schedules/", {"name": "x"}, format="json"),
    ]
    assert [r.status_code for r in responses] == [expected] * 6
    assert all(r.json()["error"]["code"] for r in responses)
    assert ManagementReview.objects.get().title == review.title
    assert not ReviewJob.objects.exists()


def test_create_validates_and_ignores_fields_nobody_sets(api_clients, quality_manager):
    client = api_clients["quality_manager"]
    bad = client.post(API, _payload(quality_manager, period_end="2025-12-31"), format="json")
    assert bad.status_code == 409
    assert "end on or after" in bad.json()["error"]["message"]
    missing = client.post(API, {"title": ""}, format="json")
    assert missing.status_code == 400
    assert set(missing.json()["error"]["fields"]) >= {"title", "period_start", "chair"}
    created = client.post(
        API,
        _payload(quality_manager, status="closed", reference="MR-1999-00001", held_on="2026-04-01", schedule=1),
        format="json",
    )
    assert created.status_code == 201
    body = created.json()
    assert (body["status"], body["held_on"], body["schedule"]) == ("planned", None, None)
    assert body["reference"] != "MR-1999-00001"


def test_the_steps_through_the_api(api_clients, quality_manager, staff, review):
    client = api_clients["quality_manager"]
    base = f"{API}{review.pk}/"
    assert client.post(f"{base}hold/", {"held_on": "2026-04-01", "attendees": "x"}, format="json").status_code == 409
    patched = client.patch(base, {"audit_results": "One minor finding.", "status": "closed"}, format="json")
    assert patched.status_code == 200
    assert (patched.json()["audit_results"], patched.json()["status"]) == ("One minor finding.", "planned")
    assert client.post(f"{base}compile/", {}, format="json").status_code == 202
    assert client.post(f"{base}compile/", {}, format="json").status_code == 409  # one job at a time
    run_jobs(review)
    today = timezone.localdate()
    held = client.post(f"{base}hold/", {"held_on": today.isoformat(), "attendees": "QM, MD"}, format="json")
    assert held.json()["status"] == "held"
    decision = client.post(
        f"{base}decisions/",
        {
            "kind": "qms_change",
            "text": "Add a complaint category for packaging.",
            "action_title": "Update the category list",
            "action_owner": staff.pk,
            "action_due": (today + timedelta(days=14)).isoformat(),
        },
        format="json",
    )
    assert decision.status_code == 201
    assert decision.json()["action_reference"].startswith("ACT-")
    assert client.post(f"{base}close/", {}, format="json").json()["status"] == "closed"


def test_schedules_through_the_api(api_clients, quality_manager):
    client = api_clients["quality_manager"]
    bad = client.post(
        "/api/v1/review-schedules/",
        {"name": "Q", "interval": 3, "chair": quality_manager.pk, "next_period_start": "2027-01-01", "lead_days": 99},
        format="json",
    )
    assert bad.status_code == 400
    assert "lead_days" in bad.json()["error"]["fields"]
    created = client.post(
        "/api/v1/review-schedules/",
        {"name": "Q", "interval": 3, "chair": quality_manager.pk, "next_period_start": "2027-01-01"},
        format="json",
    )
    assert created.status_code == 201
    schedule = ReviewSchedule.objects.get()
    moved = client.patch(f"/api/v1/review-schedules/{schedule.pk}/", {"next_period_start": "2027-04-01"}, format="json")
    assert moved.status_code == 200
    assert moved.json()["next_run_at"] > created.json()["next_run_at"]


@pytest.mark.parametrize("reviews", [1, 8])
def test_list_queries_do_not_grow(api_clients, quality_manager, django_assert_max_num_queries, reviews):
    from datetime import date

    from tests.reviews.conftest import make_review

    for n in range(reviews):
        make_review(
            quality_manager, start=date(2010 + n, 1, 1), end=date(2010 + n, 3, 31), meeting=date(2010 + n, 4, 5)
        )
    with django_assert_max_num_queries(6):
        assert len(api_clients["auditor"].get(API).json()["results"]) == reviews


@pytest.mark.parametrize("day", ["9999-12-01", "0001-01-01"])
def test_a_schedule_outside_the_calendar_is_refused_with_the_field_error(api_clients, quality_manager, day):
    # Year 9999 was a 500: the first period's end was computed in year 10000 (#22 §9).
    response = api_clients["quality_manager"].post(
        "/api/v1/review-schedules/",
        {"name": "Q", "interval": 3, "chair": quality_manager.pk, "next_period_start": day},
        format="json",
    )
    assert response.status_code == 400
    assert "1900-01-01" in response.json()["error"]["fields"]["next_period_start"][0]
    assert not ReviewSchedule.objects.exists()
