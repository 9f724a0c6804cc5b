"""Quality managers keep the SLA policy and the complaint categories; everyone else reads or is refused."""

import pytest

from apps.audit.models import AuditEntry
from apps.complaints import services, sla
from apps.complaints.models import ComplaintCategory, SlaPolicy

pytestmark = pytest.mark.django_db


def _policy_post(**overrides):
    data = {"reason": "Faster handling agreed in the management review"}
    for severity, limits in sla.DEFAULT_POLICY.items():
        for name, value in limits.items():
            data[f"{severity}-{name}"] = str(value)
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("persona", "get_status", "editable"),
    [("quality_manager", 200, True), ("staff", 200, False), ("auditor", 200, False), ("anonymous", 302, False)],
)
def test_sla_policy_page_by_role(clients, persona, get_status, editable):
    response = clients[persona].get("/complaints/sla-policy/")
    assert response.status_code == get_status
    if get_status == 200:
        assert ('name="critical-acknowledge_hours"' in response.content.decode()) is editable


@pytest.mark.parametrize(("persona", "status"), [("staff", 403), ("auditor", 403), ("anonymous", 302)])
def test_sla_policy_changes_are_refused_to_everyone_but_quality_managers(clients, persona, status):
    response = clients[persona].post("/complaints/sla-policy/", _policy_post(**{"critical-acknowledge_hours": "1"}))
    assert response.status_code == status
    assert SlaPolicy.objects.get(severity="critical").acknowledge_hours == 2


def test_quality_manager_changes_the_policy_with_an_audited_reason(clients, quality_manager):
    response = clients["quality_manager"].post(
        "/complaints/sla-policy/", _policy_post(**{"critical-acknowledge_hours": "1", "critical-close_days": "4"})
    )
    assert response.status_code == 302
    assert sla.policy("critical") == {"acknowledge_hours": 1, "assess_hours": 4, "respond_days": 2, "close_days": 4}
    entry = AuditEntry.objects.for_object(SlaPolicy.objects.get(severity="critical")).get()
    assert entry.changes == {"acknowledge_hours": [2, 1], "close_days": [5, 4]}
    assert entry.reason == "Faster handling agreed in the management review"
    assert not AuditEntry.objects.filter(content_type__model="slapolicy").exclude(pk=entry.pk).exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("low-assess_hours", "1", "Assessment cannot be due before acknowledgement."),
        ("low-close_days", "2", "Closure cannot be due before the response."),
        ("low-respond_days", "0", "greater than or equal to 1"),
        ("low-respond_days", "many", "Enter a whole number."),
    ],
)
def test_invalid_policy_shows_the_error_at_its_field_and_changes_nothing(clients, field, value, message):
    response = clients["quality_manager"].post("/complaints/sla-policy/", _policy_post(**{field: value}))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert sla.policies() == sla.DEFAULT_POLICY


def test_policy_service_refuses_inconsistent_limits_and_other_roles(quality_manager, staff):
    with pytest.raises(Exception, match="before the response"):
        services.sla_policy_update(severity="low", actor=quality_manager, close_days=1)
    with pytest.raises(Exception, match="may not change"):
        services.sla_policy_update(severity="low", actor=staff, close_days=40)
    assert sla.policy("low") == sla.DEFAULT_POLICY["low"]


def test_sla_check_reads_the_policy_once_per_run(make, django_assert_max_num_queries):
    for _ in range(5):
        make()
    with django_assert_max_num_queries(4):
        services.sla_check()


def test_category_is_renamed_retired_and_reactivated_with_audit(clients, quality_manager):
    category = services.category_save(actor=quality_manager, name="Late delivery")
    client = clients["quality_manager"]
    client.post("/complaints/categories/", {"rename": category.pk, f"name-{category.pk}": "Delivery delay"})
    client.post("/complaints/categories/", {"toggle": category.pk})
    category.refresh_from_db()
    assert (category.name, category.is_active) == ("Delivery delay", False)
    page = client.get("/complaints/categories/").content.decode()
    assert "Reactivate" in page
    client.post("/complaints/categories/", {"toggle": category.pk})
    changes = [entry.changes for entry in AuditEntry.objects.for_object(category).order_by("seq")]
    assert changes[1:] == [
        {"name": ["Late delivery", "Delivery delay"]},
        {"is_active": [True, False]},
        {"is_active": [False, True]},
    ]


def test_renaming_to_an_existing_name_is_refused_with_a_message(clients, quality_manager):
    qm = quality_manager
    first = services.category_save(actor=qm, name="Damage")
    second = services.category_save(actor=qm, name="Billing")
    response = clients["quality_manager"].post(
        "/complaints/categories/", {"rename": second.pk, f"name-{second.pk}": "damage"}, follow=True
    )
    assert "already exists" in response.content.decode()
    assert ComplaintCategory.objects.get(pk=second.pk).name == "Billing"
    assert ComplaintCategory.objects.get(pk=first.pk).name == "Damage"


@pytest.mark.parametrize(("persona", "status"), [("staff", 403), ("auditor", 403), ("anonymous", 302)])
def test_category_changes_are_refused_to_other_roles(clients, quality_manager, persona, status):
    category = services.category_save(actor=quality_manager, name="Noise")
    response = clients[persona].post("/complaints/categories/", {"toggle": category.pk})
    assert response.status_code == status
    assert ComplaintCategory.objects.get(pk=category.pk).is_active


def test_retired_categories_are_not_offered_for_assessment(clients, make, staff, quality_manager):
    qm = quality_manager
    services.category_save(actor=qm, name="Retired one", is_active=False)
    services.category_save(actor=qm, name="Current one")
    complaint = make(assignee=staff)
    page = clients["quality_manager"].get(f"/complaints/{complaint.pk}/").content.decode()
    assert "Current one" in page
    assert "Retired one" not in page


@pytest.mark.parametrize(("persona", "shown"), [("quality_manager", True), ("staff", False), ("auditor", False)])
def test_recurring_complaints_appear_on_the_quality_managers_home_page(clients, make, quality_manager, persona, shown):
    from tests.complaints.factories import make_category
    from tests.customers.factories import ProductFactory

    category, product = make_category(), ProductFactory(name="Pump P-200")
    for _ in range(3):
        complaint = make()
        services.complaint_assess(complaint_id=complaint.pk, actor=quality_manager, category=category, product=product)
        services.recurrence_check(complaint_id=complaint.pk)

    page = clients[persona].get("/").content.decode()
    assert ('data-testid="recurrence-alerts"' in page) is shown
    if shown:
        assert f"{category.name} · Pump P-200" in page
        listed = clients[persona].get(f"/complaints/?category={category.pk}&product={product.pk}")
        assert len(listed.context["object_list"]) == 3
