"""Services added for the pages and API (the existing ones are tested in test_personal_data.py)."""

import pytest

from apps.accounts.roles import Role
from apps.audit.models import AuditEntry
from apps.customers import services
from apps.customers.models import Customer
from tests.factories import UserFactory


def test_export_recorded_returns_the_export_and_writes_an_export_entry(contact, follow_up, quality_manager):
    data = services.contact_export_recorded(contact_id=contact.pk, actor=quality_manager)
    assert data["contact"]["name"] == "Katrin Vogel"
    assert [i["id"] for i in data["interactions"]] == [follow_up.interaction_id]
    entry = AuditEntry.objects.for_object(contact).get(action=AuditEntry.Action.EXPORT)
    assert (entry.actor, entry.changes) == (quality_manager, {})


def test_export_of_an_erased_contact_holds_no_personal_data(contact, quality_manager):
    services.contact_erase(contact_id=contact.pk, actor=quality_manager, reason="request")
    data = services.contact_export_recorded(contact_id=contact.pk, actor=quality_manager)
    assert (data["contact"]["name"], data["contact"]["email"], data["contact"]["phone"]) == (None, None, None)


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [("staff", True), ("other_staff", False), ("quality_manager", True), ("auditor", False)],
)
def test_follow_up_may_be_completed_by_its_owner_or_a_quality_manager(personas, follow_up, persona, allowed):
    assert services.follow_up_may_complete(user=personas[persona], follow_up=follow_up) is allowed


def test_deactivated_owner_may_not_complete(follow_up, staff):
    staff.is_active = False
    assert services.follow_up_may_complete(user=staff, follow_up=follow_up) is False


def test_user_without_a_role_may_not_complete_even_as_owner(follow_up):
    roleless = UserFactory()
    follow_up.owner = roleless
    assert services.follow_up_may_complete(user=roleless, follow_up=follow_up) is False


def test_customer_country_is_audited_as_its_code(quality_manager):
    customer = services.customer_create(actor=quality_manager, name="Atlantic Foods Ltd", country="GB")
    services.customer_update(customer_id=customer.pk, actor=quality_manager, country="IE")
    changes = [e.changes["country"] for e in AuditEntry.objects.for_object(customer).order_by("seq")]
    assert changes == [["", "GB"], ["GB", "IE"]]
    assert Customer.objects.get(pk=customer.pk).country.code == "IE"


def test_quality_manager_role_needs_the_permission_too(follow_up, quality_manager, monkeypatch):
    # The rule is "owner or quality manager" on top of the model permission, never instead of it.
    monkeypatch.setattr(type(quality_manager), "has_perm", lambda self, perm, obj=None: False)
    assert quality_manager.has_role(Role.QUALITY_MANAGER)
    assert services.follow_up_may_complete(user=quality_manager, follow_up=follow_up) is False


def test_products_a_customer_uses_are_set_and_audited_by_id(db):
    from tests.customers.factories import ProductFactory

    actor = UserFactory(role=Role.QUALITY_MANAGER)
    first, second = ProductFactory(), ProductFactory()
    customer = services.customer_create(actor=actor, name="Acme", products=[first])
    services.customer_update(customer_id=customer.pk, actor=actor, products=[second])
    services.customer_update(customer_id=customer.pk, actor=actor, products=[second])

    assert list(customer.products.all()) == [second]
    changes = [e.changes.get("products") for e in AuditEntry.objects.for_object(customer).order_by("seq")]
    assert changes == [[[], [first.pk]], [[first.pk], [second.pk]]]
