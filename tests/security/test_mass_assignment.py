"""Mass assignment (#10): fields the server owns (status, reference, who created a record, tokens,
timestamps) are never taken from a request, and only a quality manager hands a record to
another owner. Every PATCH and create operation of the API is sent them; the record keeps its
own values. The public and staff forms ignore them too."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.complaints.models import Complaint
from apps.feedback.models import Feedback
from tests.security.access import api_operations, make_personal
from tests.security.world import API_OBJECTS, api_collection, api_url

HACKED = "HACK-0001"


def _planted(model, other_user) -> dict:
    """A hostile value for every server-owned field the model has, by request field name."""
    values = {
        "id": 987654,
        "reference": HACKED,
        "created_by": other_user.pk,
        "created_at": "2001-01-01T00:00:00Z",
        "updated_at": "2001-01-01T00:00:00Z",
        "token_hash": "0" * 64,
        "tracking_token": "planted-token",
        "assignee": other_user.pk,
        "version": 99,
        "round": 99,
        "submitted_at": "2001-01-01T00:00:00Z",
        "closed_at": "2001-01-01T00:00:00Z",
        "received_at": "2001-01-01T00:00:00Z",
        "computed_status": "achieved",
        "next_run_at": "2001-01-01T00:00:00Z",
    }
    field_names = {field.name for field in model._meta.get_fields()}
    planted = {name: value for name, value in values.items() if name in field_names}
    status = model._meta.get_field("status") if "status" in field_names else None
    if status is not None and status.choices and model._meta.label_lower != "customers.customer":
        planted["status"] = status.choices[-1][0]
    return planted


def _snapshot(record, fields) -> dict:
    record = type(record)._base_manager.get(pk=record.pk)
    return {name: getattr(record, record._meta.get_field(name).attname) for name in fields}


def _patch_operations() -> list[str]:
    return sorted(path for method, path in api_operations() if method == "PATCH")


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["staff", "quality_manager"])
def test_patch_never_writes_a_server_owned_field(world, personas, api_clients, persona):
    make_personal(world, personas)
    other = personas["other_staff"]
    problems = []
    for path in _patch_operations():
        record = world[API_OBJECTS[api_collection(path)]]
        planted = _planted(type(record), other)
        if persona == "staff" and "owner" in {field.name for field in record._meta.get_fields()}:
            planted["owner"] = other.pk  # handing one's work to a colleague is a manager's call
        # A change moves updated_at on; what must never happen is that it takes the planted value.
        guarded = [name for name in planted if name not in ("id", "updated_at")]
        before = _snapshot(record, guarded)
        response = api_clients[persona].patch(api_url(path, world), {**planted, "reason": "planted"}, format="json")
        if response.status_code >= 500:
            problems.append(f"PATCH {path}: {response.status_code}")
        changed = {name: value for name, value in _snapshot(record, guarded).items() if before[name] != value}
        if "updated_at" in planted and _snapshot(record, ["updated_at"])["updated_at"].year == 2001:
            changed["updated_at"] = "planted"
        if changed:
            problems.append(f"PATCH {path} as {persona} ({response.status_code}) wrote {sorted(changed)}")
    assert problems == [], "\n".join(problems)


def _creations(world, personas) -> dict[str, dict]:
    """A valid body for every create operation of the API."""
    today = timezone.localdate().isoformat()
    customer, product = world["customer"], world["product"]
    staff = personas["staff"]
    return {
        "/api/v1/customers/": {"name": "Planted Ltd", "kind": "organisation", "country": "DE"},
        "/api/v1/contacts/": {"name": "Pat Planted", "email": "pat@example.org", "customer": customer.pk},
        "/api/v1/products/": {"code": "PLANT-1", "name": "Planted pump"},
        "/api/v1/interactions/": {
            "customer": customer.pk,
            "occurred_at": timezone.now().isoformat(),
            "channel": "call",
            "summary": "Called about the pump.",
            "staff": [staff.pk],
        },
        "/api/v1/requirements/": {
            "customer": customer.pk,
            "product": product.pk,
            "type": "stated",
            "title": "Planted requirement",
            "description": "Pumps deliver 5 bar.",
            "acceptance_criteria": "Measured at 5 bar.",
            "source": "contract",
            "priority": "medium",
        },
        "/api/v1/actions/": {"title": "Planted action", "nonconformity": "Pumps leak.", "containment": "Held stock."},
        "/api/v1/feedback/": {"channel": "email", "text": "Planted praise", "rating": 5},
        "/api/v1/objectives/": {
            "title": "Planted objective",
            "plan": "Ship faster.",
            "resources": "Two people.",
            "evaluation": "Monthly.",
            "owner": staff.pk,
            "kpi_kind": "manual",
            "kpi_label": "Days to deliver",
            "baseline_value": "7",
            "baseline_date": today,
            "target_value": "5",
            "target_date": (timezone.localdate().replace(year=timezone.localdate().year + 1)).isoformat(),
            "higher_is_better": False,
            "unit": "days",
            "period": "monthly",
        },
        "/api/v1/reviews/": {
            "title": "Planted review",
            "period_start": "2026-01-01",
            "period_end": "2026-03-31",
            "meeting_date": "2026-04-20",
            "chair": personas["quality_manager"].pk,
        },
        "/api/v1/review-schedules/": {
            "name": "Planted schedule",
            "interval": 3,
            "next_period_start": "2027-01-01",
            "chair": personas["quality_manager"].pk,
        },
    }


@pytest.mark.django_db
def test_create_never_takes_a_server_owned_field(world, personas, api_clients):
    make_personal(world, personas)
    other = personas["other_staff"]
    creations = _creations(world, personas)
    creates = {path for method, path in api_operations() if method == "POST" and api_collection(path) + "/" in path}
    creates = {path for path in creates if path.count("/") == 4 and api_collection(path) in API_OBJECTS}
    assert sorted(creates - creations.keys()) == [], "give these new create operations a valid body here"
    problems = []
    for path, body in creations.items():
        persona = "staff" if path in ("/api/v1/feedback/", "/api/v1/actions/", "/api/v1/requirements/") else None
        client = api_clients[persona or "quality_manager"]
        model = type(world[API_OBJECTS[api_collection(path)]])
        planted = _planted(model, other)
        response = client.post(path, {**body, **planted}, format="json")
        if response.status_code != 201:
            problems.append(f"POST {path}: {response.status_code} {response.content[:300]!r}")
            continue
        record = model._base_manager.get(pk=response.json()["id"])
        wrote = [
            name
            for name, value in planted.items()
            if str(getattr(record, record._meta.get_field(name).attname, None)) == str(value)
        ]
        if record.pk == planted["id"] or wrote:
            problems.append(f"POST {path} took {wrote or ['id']}")
        if "created_by" in planted and record.created_by_id == other.pk:
            problems.append(f"POST {path} took created_by")
    assert problems == [], "\n".join(problems)


def test_public_forms_ignore_server_owned_fields(db, other_staff):
    planted = {
        "status": "closed",
        "reference": HACKED,
        "owner": other_staff.pk,
        "assignee": other_staff.pk,
        "created_by": other_staff.pk,
        "token_hash": "0" * 64,
        "severity": "critical",
    }
    visitor = Client()
    visitor.post(
        reverse("feedback:submit"),
        {**planted, "channel": "web_form", "text": "Lovely pump.", "rating": "5", "submitter_name": "Pat"},
    )
    visitor.post(
        reverse("complaints:public_new"),
        {
            **planted,
            "complainant_name": "Pat Planted",
            "complainant_email": "pat@example.org",
            "description": "The pump leaks.",
            "consent": "on",
        },
    )
    feedback = Feedback.objects.get()
    assert feedback.reference != HACKED
    assert feedback.owner_id != other_staff.pk
    assert feedback.status == Feedback.Status.NEW
    complaint = Complaint.objects.get()
    assert complaint.reference != HACKED
    assert complaint.assignee_id is None
    assert complaint.status == Complaint.Status.RECEIVED
    assert complaint.token_hash != "0" * 64
