import pytest

from apps.audit.models import AuditEntry
from apps.customers import services
from apps.customers.models import Contact, Customer, Interaction, Product
from tests.customers.factories import ContactFactory, CustomerFactory, InteractionFactory, ProductFactory

UNKNOWN = 999999
READERS = [("quality_manager", 200), ("staff", 200), ("auditor", 200), ("anonymous", 401)]


@pytest.fixture
def ids(customer, contact, product, follow_up) -> dict:
    return {
        "customer": customer.pk,
        "contact": contact.pk,
        "product": product.pk,
        "interaction": follow_up.interaction_id,
    }


RESOURCES = {
    "customer": "/api/v1/customers/",
    "contact": "/api/v1/contacts/",
    "product": "/api/v1/products/",
    "interaction": "/api/v1/interactions/",
}


# Reading ------------------------------------------------------------------------------


@pytest.mark.parametrize(("persona", "expected"), READERS)
@pytest.mark.parametrize("resource", RESOURCES)
def test_list_and_retrieve_by_role(api_clients, ids, resource, persona, expected):
    client = api_clients[persona]
    listing = client.get(RESOURCES[resource])
    detail = client.get(f"{RESOURCES[resource]}{ids[resource]}/")
    assert (listing.status_code, detail.status_code) == (expected, expected)
    if expected == 200:
        assert [row["id"] for row in listing.json()["results"]] == [ids[resource]]
        assert detail.json()["id"] == ids[resource]


@pytest.mark.parametrize("resource", RESOURCES)
def test_unknown_object_is_404(api_clients, db, resource):
    response = api_clients["quality_manager"].get(f"{RESOURCES[resource]}{UNKNOWN}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("method", ["put", "delete"])
@pytest.mark.parametrize("resource", RESOURCES)
def test_no_put_or_delete(api_clients, ids, resource, method):
    response = getattr(api_clients["quality_manager"], method)(
        f"{RESOURCES[resource]}{ids[resource]}/", {}, format="json"
    )
    assert response.status_code == 405
    assert Customer.objects.filter(pk=ids["customer"]).exists()
    assert Contact.objects.filter(pk=ids["contact"], erased_at__isnull=True).exists()


def test_interactions_cannot_be_changed(api_clients, ids):
    url = f"/api/v1/interactions/{ids['interaction']}/"
    assert api_clients["quality_manager"].patch(url, {"summary": "rewritten"}, format="json").status_code == 405
    assert Interaction.objects.get(pk=ids["interaction"]).summary != "rewritten"


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("quality_manager", ("Katrin Vogel", "k.vogel@nordwind.example", "+49 40 555")),
        ("staff", ("Katrin Vogel", "k.vogel@nordwind.example", "+49 40 555")),
        # Auditors lack the personal-data permission (#22 §8).
        ("auditor", ("[personal data]", "[personal data]", "[personal data]")),
    ],
)
def test_contact_output_is_decrypted_masked_or_null_after_erasure(
    api_clients, contact, quality_manager, persona, expected
):
    body = api_clients[persona].get(f"/api/v1/contacts/{contact.pk}/").json()
    assert (body["name"], body["email"], body["phone"], body["erased"]) == (*expected, False)
    services.contact_erase(contact_id=contact.pk, actor=quality_manager, reason="request")
    body = api_clients[persona].get(f"/api/v1/contacts/{contact.pk}/").json()
    assert (body["name"], body["email"], body["phone"], body["erased"]) == (None, None, None, True)
    assert body["erased_at"] is not None


def test_contacts_and_interactions_filter_by_customer(api_clients, ids, staff):
    other = CustomerFactory()
    other_contact = ContactFactory(customer=other)
    InteractionFactory(customer=other, actor=staff)
    contacts = api_clients["staff"].get(f"/api/v1/contacts/?customer={other.pk}").json()["results"]
    interactions = api_clients["staff"].get(f"/api/v1/interactions/?customer={ids['customer']}").json()["results"]
    assert [c["id"] for c in contacts] == [other_contact.pk]
    assert [i["id"] for i in interactions] == [ids["interaction"]]


def _many(resource: str, rows: int, staff) -> None:
    customers = CustomerFactory.create_batch(rows, account_owner=staff)
    if resource == "product":
        ProductFactory.create_batch(rows)
    for customer in customers:
        contact = ContactFactory(customer=customer)
        if resource == "interaction":
            InteractionFactory(
                customer=customer,
                actor=staff,
                contact_ids=[contact.pk],
                staff_ids=[staff.pk],
                follow_ups=[{"description": "Call back", "owner": staff, "due_date": "2026-01-31"}],
            )


@pytest.mark.parametrize("rows", [5, 40])
@pytest.mark.parametrize(("resource", "queries"), [("customer", 5), ("contact", 4), ("product", 4), ("interaction", 7)])
def test_list_endpoints_run_a_fixed_number_of_queries(
    api_clients, staff, resource, queries, rows, django_assert_max_num_queries
):
    _many(resource, rows, staff)
    with django_assert_max_num_queries(queries):
        response = api_clients["auditor"].get(RESOURCES[resource])
    assert response.status_code == 200
    assert len(response.json()["results"]) == rows


# Writing ------------------------------------------------------------------------------

CREATES = {
    "customer": (
        lambda o: {"name": "Atlantic Foods Ltd", "kind": "organisation", "country": "GB", "account_owner": o["staff"]},
        lambda: Customer.objects.filter(name="Atlantic Foods Ltd").exists(),
    ),
    "contact": (
        lambda o: {"customer": o["customer"], "name": "Emily Carter", "email": "emily@atlantic.example"},
        lambda: Contact.objects.with_email("emily@atlantic.example").exists(),
    ),
    "product": (
        lambda o: {"code": "LST-MILE", "name": "Last-mile delivery", "kind": "service"},
        lambda: Product.objects.filter(code="LST-MILE").exists(),
    ),
    "interaction": (
        lambda o: {
            "customer": o["customer"],
            "occurred_at": "2025-06-01T09:00:00Z",
            "channel": "call",
            "summary": "API-logged",
            "contacts": [o["contact"]],
            "staff": [o["staff"]],
            "follow_ups": [{"description": "Send offer", "owner": o["staff"], "due_date": "2025-06-10"}],
        },
        lambda: Interaction.objects.filter(summary="API-logged").exists(),
    ),
}
CREATE_EXPECTED = {
    "customer": {"quality_manager": 201, "staff": 201, "auditor": 403, "anonymous": 401},
    "contact": {"quality_manager": 201, "staff": 201, "auditor": 403, "anonymous": 401},
    "product": {"quality_manager": 201, "staff": 403, "auditor": 403, "anonymous": 401},
    "interaction": {"quality_manager": 201, "staff": 201, "auditor": 403, "anonymous": 401},
}


@pytest.mark.parametrize("persona", ["quality_manager", "staff", "auditor", "anonymous"])
@pytest.mark.parametrize("resource", CREATES)
def test_create_by_role(api_clients, ids, staff, resource, persona):
    data, happened = CREATES[resource]
    response = api_clients[persona].post(RESOURCES[resource], data({**ids, "staff": staff.pk}), format="json")
    expected = CREATE_EXPECTED[resource][persona]
    assert response.status_code == expected, response.json()
    assert happened() is (expected == 201)
    if expected == 201:
        created = response.json()
        model = {"customer": Customer, "contact": Contact, "product": Product, "interaction": Interaction}[resource]
        assert AuditEntry.objects.for_object(model.objects.get(pk=created["id"])).filter(action="create").exists()


def test_created_interaction_is_returned_with_its_follow_ups(api_clients, ids, staff):
    data = CREATES["interaction"][0]({**ids, "staff": staff.pk})
    body = api_clients["staff"].post("/api/v1/interactions/", data, format="json").json()
    assert body["contacts"] == [ids["contact"]]
    assert body["staff"] == [staff.pk]
    assert [(f["description"], f["owner"], f["done_at"]) for f in body["follow_ups"]] == [
        ("Send offer", staff.pk, None)
    ]
    assert body["created_by"] == staff.pk


UPDATES = {
    "customer": ({"segment": "SME", "reason": "resegmented"}, lambda o: Customer.objects.get(pk=o["customer"]).segment),
    "contact": ({"phone": "+49 40 999"}, lambda o: Contact.objects.get(pk=o["contact"]).phone),
    "product": ({"name": "Deep-freeze storage"}, lambda o: Product.objects.get(pk=o["product"]).name),
}
UPDATED = {"customer": "SME", "contact": "+49 40 999", "product": "Deep-freeze storage"}
UPDATE_EXPECTED = {
    "customer": {"quality_manager": 200, "staff": 200, "auditor": 403, "anonymous": 401},
    "contact": {"quality_manager": 200, "staff": 200, "auditor": 403, "anonymous": 401},
    "product": {"quality_manager": 200, "staff": 403, "auditor": 403, "anonymous": 401},
}


@pytest.mark.parametrize("persona", ["quality_manager", "staff", "auditor", "anonymous"])
@pytest.mark.parametrize("resource", UPDATES)
def test_partial_update_by_role(api_clients, ids, resource, persona):
    data, read = UPDATES[resource]
    response = api_clients[persona].patch(f"{RESOURCES[resource]}{ids[resource]}/", data, format="json")
    expected = UPDATE_EXPECTED[resource][persona]
    assert response.status_code == expected
    assert (read(ids) == UPDATED[resource]) is (expected == 200)


def test_customer_update_records_the_reason(api_clients, customer, staff):
    api_clients["staff"].patch(
        f"/api/v1/customers/{customer.pk}/", {"status": "inactive", "reason": "Lost"}, format="json"
    )
    entry = AuditEntry.objects.for_object(customer).get()
    assert (entry.actor, entry.reason, entry.changes) == (staff, "Lost", {"status": ["active", "inactive"]})


def test_partial_update_of_unknown_object_is_404(api_clients, db):
    response = api_clients["quality_manager"].patch(f"/api/v1/customers/{UNKNOWN}/", {"segment": "X"}, format="json")
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("url", "data", "field"),
    [
        ("/api/v1/customers/", {"name": "X", "account_owner": UNKNOWN}, "account_owner"),
        ("/api/v1/customers/", {"name": "X", "account_owner": "{auditor}"}, "account_owner"),
        ("/api/v1/customers/", {"name": "X", "country": "XX"}, "country"),
        ("/api/v1/customers/", {"kind": "organisation"}, "name"),
        ("/api/v1/contacts/", {"customer": UNKNOWN, "name": "A"}, "customer"),
        ("/api/v1/contacts/", {"customer": "{customer}", "name": "A", "email": "nope"}, "email"),
        ("/api/v1/contacts/", {"customer": "{customer}", "name": "A", "email": "K.Vogel@nordwind.example"}, "email"),
        ("/api/v1/contacts/", {"customer": "{customer}", "name": "A", "survey_consent": True}, "survey_consent_source"),
        ("/api/v1/interactions/", {"customer": UNKNOWN}, "customer"),
        ("/api/v1/interactions/", {"contacts": [UNKNOWN]}, "contacts"),
        ("/api/v1/interactions/", {"contacts": ["{stranger}"]}, "contacts"),
        ("/api/v1/interactions/", {"staff": [UNKNOWN]}, "staff"),
        ("/api/v1/interactions/", {"occurred_at": "2999-01-01T00:00:00Z"}, "occurred_at"),
        (
            "/api/v1/interactions/",
            {"follow_ups": [{"description": "X", "owner": UNKNOWN, "due_date": "2025-01-01"}]},
            "follow_ups",
        ),
        ("/api/v1/interactions/", {"follow_ups": [{"description": "X"}] * 4}, "follow_ups"),
    ],
)
def test_invalid_input_is_400_with_field_errors(api_clients, ids, auditor, url, data, field):
    stranger = ContactFactory(customer=CustomerFactory())
    names = {"{customer}": ids["customer"], "{auditor}": auditor.pk, "{stranger}": stranger.pk}

    def fill(value):
        if isinstance(value, list):
            return [fill(v) for v in value]
        return names.get(value, value) if isinstance(value, str) else value

    data = {key: fill(value) for key, value in data.items()}
    if url == "/api/v1/interactions/":
        data = {
            "customer": ids["customer"],
            "occurred_at": "2025-01-01T10:00:00Z",
            "channel": "call",
            "summary": "S",
            **data,
        }
    before = (Customer.objects.count(), Contact.objects.count(), Interaction.objects.count())
    response = api_clients["quality_manager"].post(url, data, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert set(response.json()["error"]["fields"]) == {field}
    assert (Customer.objects.count(), Contact.objects.count(), Interaction.objects.count()) == before


def test_business_rule_violation_is_409(api_clients, product, contact, quality_manager):
    response = api_clients["quality_manager"].post(
        "/api/v1/products/", {"code": "cld-stor", "name": "Copy"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    services.contact_erase(contact_id=contact.pk, actor=quality_manager, reason="request")
    response = api_clients["quality_manager"].patch(
        f"/api/v1/contacts/{contact.pk}/", {"job_role": "CEO"}, format="json"
    )
    assert response.status_code == 409


def test_contact_update_keeps_consent_rules(api_clients, contact):
    url = f"/api/v1/contacts/{contact.pk}/"
    assert api_clients["staff"].patch(url, {"survey_consent": True}, format="json").status_code == 400
    response = api_clients["staff"].patch(
        url, {"survey_consent": True, "survey_consent_source": "phone"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["survey_consent_at"] is not None
    assert api_clients["staff"].patch(url, {"email": "k.vogel@nordwind.example"}, format="json").status_code == 200


# Erasure and export -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 200), ("staff", 403), ("other_staff", 403), ("auditor", 403), ("anonymous", 401)],
)
def test_erase_by_role(api_clients, contact, persona, expected):
    response = api_clients[persona].post(f"/api/v1/contacts/{contact.pk}/erase/", {"reason": "asked"}, format="json")
    assert response.status_code == expected
    contact.refresh_from_db()
    assert (contact.erased_at is not None) is (expected == 200)
    if expected == 200:
        assert response.json()["erased"] is True
        entry = AuditEntry.objects.for_object(contact).get(action=AuditEntry.Action.ERASE)
        assert entry.reason == "asked"


def test_erase_needs_a_reason_and_a_known_contact(api_clients, contact):
    client = api_clients["quality_manager"]
    response = client.post(f"/api/v1/contacts/{contact.pk}/erase/", {}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"reason"}
    assert client.post(f"/api/v1/contacts/{UNKNOWN}/erase/", {"reason": "x"}, format="json").status_code == 404
    assert client.get(f"/api/v1/contacts/{contact.pk}/erase/").status_code == 405


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 200), ("staff", 403), ("auditor", 403), ("anonymous", 401)],
)
def test_export_by_role(api_clients, contact, follow_up, persona, expected):
    response = api_clients[persona].get(f"/api/v1/contacts/{contact.pk}/export/")
    assert response.status_code == expected
    exported = AuditEntry.objects.for_object(contact).filter(action=AuditEntry.Action.EXPORT)
    assert exported.exists() is (expected == 200)
    if expected == 200:
        body = response.json()
        assert body["contact"]["name"] == "Katrin Vogel"
        assert [i["id"] for i in body["interactions"]] == [follow_up.interaction_id]


def test_export_of_unknown_contact_is_404(api_clients, db):
    assert api_clients["quality_manager"].get(f"/api/v1/contacts/{UNKNOWN}/export/").status_code == 404
