"""Staff record complaints received by phone, letter, e-mail or in person."""

import pytest

from apps.audit.models import AuditEntry
from apps.complaints.models import Complaint
from apps.core.models import OutboundEmail
from tests.customers.factories import CustomerFactory

URL = "/complaints/record/"


def _form(**overrides):
    return {
        "channel": "phone",
        "complainant_name": "Dana Caller",
        "complainant_email": "dana@example.com",
        "customer_name": "",
        "order_reference": "PO-778",
        "description": "The pallet arrived crushed.",
        "desired_outcome": "Replacement",
        **overrides,
    }


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 200), ("staff", 200), ("auditor", 403), ("anonymous", 302)],
)
def test_record_page_access(clients, persona, expected):
    assert clients[persona].get(URL).status_code == expected


@pytest.mark.parametrize(
    ("persona", "expected", "lands_on"),
    [("quality_manager", 302, "detail"), ("staff", 302, "list"), ("auditor", 403, None), ("anonymous", 302, None)],
)
def test_recording_creates_the_complaint_with_its_channel_and_acknowledgement(
    clients, persona, expected, lands_on, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(name="Crushed Pallets GmbH")
    with django_capture_on_commit_callbacks():
        response = clients[persona].post(URL, _form(customer=customer.pk))
    assert response.status_code == expected
    created = Complaint.objects.filter(order_reference="PO-778").first()
    if lands_on is None:
        assert created is None
        return
    assert created.channel == "phone"
    assert created.customer == customer
    assert created.complainant_email == "dana@example.com"
    assert OutboundEmail.objects.filter(idempotency_key=f"complaint-ack:{created.pk}").count() == 1
    assert AuditEntry.objects.for_object(created).filter(action=AuditEntry.Action.CREATE).exists()
    # Staff see only complaints assigned to them, so they go back to the list until one is assigned.
    expected_location = f"/complaints/{created.pk}/" if lands_on == "detail" else "/complaints/"
    assert response["Location"] == expected_location


def test_invalid_input_stores_nothing(clients):
    response = clients["staff"].post(URL, _form(complainant_email="not-an-email", description="", channel="web"))
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"complainant_email", "description", "channel"}
    assert not Complaint.objects.exists()


def test_record_button_is_offered_only_to_those_who_may_record(clients):
    assert URL in clients["staff"].get("/complaints/").content.decode()
    assert URL not in clients["auditor"].get("/complaints/").content.decode()
