import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.audit.services import PERSONAL_DATA_MARK
from apps.core.exceptions import BusinessRuleViolation
from apps.customers import services
from apps.customers.models import Contact, Customer, FollowUpAction, Interaction, Product
from tests.customers.factories import ContactFactory, CustomerFactory, InteractionFactory, ProductFactory
from tests.customers.pages import main_content
from tests.factories import UserFactory

UNKNOWN = 999999


@pytest.fixture
def ids(customer, contact, product, follow_up) -> dict:
    return {"customer": customer.pk, "contact": contact.pk, "product": product.pk, "follow_up": follow_up.pk}


# Every page: who may open it -----------------------------------------------------------

PAGES = {
    "customer_list": "/customers/",
    "customer_create": "/customers/new/",
    "customer_import": "/customers/import/",
    "customer_detail": "/customers/{customer}/",
    "customer_update": "/customers/{customer}/edit/",
    "contact_create": "/customers/{customer}/contacts/new/",
    "contact_update": "/customers/contacts/{contact}/edit/",
    "contact_export": "/customers/contacts/{contact}/export.json",
    "contact_erase": "/customers/contacts/{contact}/erase/",
    "interaction_create": "/customers/{customer}/interactions/new/",
    "follow_up_complete": "/customers/follow-ups/{follow_up}/done/",
    "product_list": "/customers/products/",
    "product_create": "/customers/products/new/",
    "product_update": "/customers/products/{product}/edit/",
}
# (quality manager, staff, auditor) for GET; anonymous is always sent to the sign-in page.
GET_EXPECTED = {
    "customer_list": (200, 200, 200),
    "customer_create": (200, 200, 403),
    "customer_import": (200, 200, 403),
    "customer_detail": (200, 200, 200),
    "customer_update": (200, 200, 403),
    "contact_create": (200, 200, 403),
    "contact_update": (200, 200, 403),
    "contact_export": (200, 403, 403),
    "contact_erase": (405, 403, 403),  # POST only
    "interaction_create": (200, 200, 403),
    "follow_up_complete": (405, 405, 403),  # POST only
    "product_list": (200, 200, 200),
    "product_create": (200, 403, 403),
    "product_update": (200, 403, 403),
}
GET_MATRIX = [
    (page, persona, expected)
    for page, codes in GET_EXPECTED.items()
    for persona, expected in zip(["quality_manager", "staff", "auditor"], codes, strict=True)
]


@pytest.mark.parametrize(("page", "persona", "expected"), GET_MATRIX)
def test_page_access_by_role(clients, ids, page, persona, expected):
    assert clients[persona].get(PAGES[page].format(**ids)).status_code == expected


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_is_sent_to_sign_in(clients, ids, page, method):
    response = getattr(clients["anonymous"], method)(PAGES[page].format(**ids))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("page", [page for page, url in PAGES.items() if "{" in url])
def test_unknown_object_is_404(clients, ids, page):
    url = PAGES[page].format(**dict.fromkeys(ids, UNKNOWN))
    method = "post" if page in {"contact_erase", "follow_up_complete"} else "get"
    assert getattr(clients["quality_manager"], method)(url).status_code == 404


def test_permission_is_checked_before_the_object_is_looked_up(clients):
    # Without the permission the answer is 403 whether or not the id exists, so ids are not probed.
    assert clients["staff"].get(f"/customers/products/{UNKNOWN}/edit/").status_code == 403


# Every write: who may do it, and that a refusal changes nothing ------------------------


def _interaction_data(contact_ids=(), staff_ids=(), **extra) -> dict:
    data = {
        "occurred_at": "2025-01-15T10:30",
        "channel": Interaction.Channel.MEETING,
        "summary": "Annual review",
        "contacts": list(contact_ids),
        "staff": list(staff_ids),
        "follow_ups-TOTAL_FORMS": "3",
        "follow_ups-INITIAL_FORMS": "0",
        "follow_ups-MIN_NUM_FORMS": "0",
        "follow_ups-MAX_NUM_FORMS": "3",
    }
    data.update(extra)
    return data


WRITES = {
    "customer_create": (
        "/customers/new/",
        lambda o: {"name": "Fresh Foods plc", "kind": "organisation", "status": "active", "country": "GB"},
        lambda o: Customer.objects.filter(name="Fresh Foods plc").exists(),
    ),
    "customer_update": (
        "/customers/{customer}/edit/",
        lambda o: {"name": "Nordwind Renamed", "kind": "organisation", "status": "active", "reason": "rebrand"},
        lambda o: Customer.objects.get(pk=o["customer"]).name == "Nordwind Renamed",
    ),
    "contact_create": (
        "/customers/{customer}/contacts/new/",
        lambda o: {"name": "Jonas Petersen", "email": "jonas@nordwind.example"},
        lambda o: Contact.objects.with_email("jonas@nordwind.example").exists(),
    ),
    "contact_update": (
        "/customers/contacts/{contact}/edit/",
        lambda o: {"name": "Katrin Vogel-Berg", "email": "k.vogel@nordwind.example", "is_active": "on"},
        lambda o: Contact.objects.get(pk=o["contact"]).name == "Katrin Vogel-Berg",
    ),
    "contact_erase": (
        "/customers/contacts/{contact}/erase/",
        lambda o: {"reason": "Data subject asked on 2026-01-10"},
        lambda o: Contact.objects.get(pk=o["contact"]).erased_at is not None,
    ),
    "interaction_create": (
        "/customers/{customer}/interactions/new/",
        lambda o: _interaction_data(contact_ids=[o["contact"]], summary="Page-logged"),
        lambda o: Interaction.objects.filter(summary="Page-logged").exists(),
    ),
    "follow_up_complete": (
        "/customers/follow-ups/{follow_up}/done/",
        lambda o: {},
        lambda o: FollowUpAction.objects.get(pk=o["follow_up"]).done_at is not None,
    ),
    "product_create": (
        "/customers/products/new/",
        lambda o: {"code": "NEW-1", "name": "New service", "kind": "service", "is_active": "on"},
        lambda o: Product.objects.filter(code="NEW-1").exists(),
    ),
    "product_update": (
        "/customers/products/{product}/edit/",
        lambda o: {"code": "CLD-STOR", "name": "Deep-freeze storage", "kind": "service", "is_active": "on"},
        lambda o: Product.objects.get(pk=o["product"]).name == "Deep-freeze storage",
    ),
}
# Who may perform each write. `follow_up` is owned by staff: other staff may not complete it.
ALLOWED = {
    "customer_create": {"quality_manager", "staff", "other_staff"},
    "customer_update": {"quality_manager", "staff", "other_staff"},
    "contact_create": {"quality_manager", "staff", "other_staff"},
    "contact_update": {"quality_manager", "staff", "other_staff"},
    "contact_erase": {"quality_manager"},
    "interaction_create": {"quality_manager", "staff", "other_staff"},
    "follow_up_complete": {"quality_manager", "staff"},
    "product_create": {"quality_manager"},
    "product_update": {"quality_manager"},
}
PERSONAS = ["quality_manager", "staff", "other_staff", "auditor", "anonymous"]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("write", WRITES)
def test_write_access_by_role(clients, ids, write, persona):
    url, data, happened = WRITES[write]
    response = clients[persona].post(url.format(**ids), data(ids))
    allowed = persona in ALLOWED[write]
    if allowed:
        assert response.status_code == 302, response.context["form"].errors if response.context else response
    else:
        assert response.status_code == (302 if persona == "anonymous" else 403)
    assert happened(ids) is allowed


@pytest.mark.parametrize("write", WRITES)
def test_auditor_gets_403_for_every_write_url_by_get_and_post(clients, ids, write):
    url = WRITES[write][0].format(**ids)
    assert clients["auditor"].get(url).status_code == 403
    assert clients["auditor"].post(url, WRITES[write][1](ids)).status_code == 403


@pytest.mark.parametrize("page", ["customer_list", "customer_detail", "product_list"])
def test_auditor_pages_hold_no_write_form_or_link(clients, ids, page):
    content = main_content(clients["auditor"].get(PAGES[page].format(**ids)))
    assert '<form method="post"' not in content
    assert 'method="post"' not in content
    for fragment in ("/new/", "/edit/", "/erase/", "export.json", "/done/", "/import/"):
        assert fragment not in content


def test_quality_manager_pages_do_show_the_write_controls(clients, ids):
    # The counterpart of the auditor test, so that one cannot pass because nothing is ever rendered.
    content = main_content(clients["quality_manager"].get(PAGES["customer_detail"].format(**ids)))
    assert '<form method="post"' in content
    for fragment in ("/edit/", "/contacts/new/", "/interactions/new/", "export.json", "/done/"):
        assert fragment in content


# Customer list ------------------------------------------------------------------------


@pytest.fixture
def spread(db, staff, other_staff):
    return {
        "acme": CustomerFactory(name="Acme Tools", segment="SME", country="GB", account_owner=staff),
        "bolt": CustomerFactory(name="Bolt Parts", segment="Enterprise", country="DE", account_owner=other_staff),
        "cora": CustomerFactory(
            name="Cora Lind", kind="individual", segment="Private", country="SE", status="inactive"
        ),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["Acme Tools", "Bolt Parts", "Cora Lind"]),
        ("q=bolt", ["Bolt Parts"]),
        ("status=inactive", ["Cora Lind"]),
        ("kind=individual", ["Cora Lind"]),
        ("segment=SME", ["Acme Tools"]),
        ("country=DE", ["Bolt Parts"]),
        ("account_owner={other_staff}", ["Bolt Parts"]),
        ("sort=-name", ["Cora Lind", "Bolt Parts", "Acme Tools"]),
        ("sort=country", ["Bolt Parts", "Acme Tools", "Cora Lind"]),
    ],
)
def test_customer_list_filters_searches_and_sorts(clients, spread, other_staff, query, expected):
    response = clients["staff"].get("/customers/?" + query.format(other_staff=other_staff.pk))
    assert response.status_code == 200
    assert [c.name for c in response.context["object_list"]] == expected


def test_customer_list_paginates(clients, db):
    CustomerFactory.create_batch(30)
    first = clients["staff"].get("/customers/")
    second = clients["staff"].get("/customers/" + first.context["page_obj"].next_url)
    assert len(first.context["object_list"]) == 25
    assert len(second.context["object_list"]) == 5
    assert not {c.pk for c in first.context["object_list"]} & {c.pk for c in second.context["object_list"]}


def _customers_with_contacts(count: int, owner) -> None:
    for customer in CustomerFactory.create_batch(count, account_owner=owner):
        ContactFactory(customer=customer)


@pytest.mark.parametrize("rows", [5, 40])
def test_customer_list_runs_a_fixed_number_of_queries(clients, staff, rows, django_assert_max_num_queries):
    _customers_with_contacts(rows, staff)
    with django_assert_max_num_queries(10):
        response = clients["auditor"].get("/customers/?sort=name")
    assert response.status_code == 200
    assert len(response.context["object_list"]) == min(rows, 25)


@pytest.mark.parametrize("rows", [5, 40])
def test_product_list_runs_a_fixed_number_of_queries(clients, db, rows, django_assert_max_num_queries):
    ProductFactory.create_batch(rows)
    with django_assert_max_num_queries(7):
        response = clients["quality_manager"].get("/customers/products/")
    assert response.status_code == 200
    assert len(response.context["object_list"]) == rows


def test_product_list_filters(clients, db):
    ProductFactory(code="A-1", name="Alpha", kind="product")
    ProductFactory(code="B-1", name="Beta", kind="service", is_active=False)
    names = lambda query: [p.name for p in clients["staff"].get("/customers/products/?" + query).context["object_list"]]  # noqa: E731
    assert names("") == ["Alpha", "Beta"]
    assert names("kind=service") == ["Beta"]
    assert names("is_active=true") == ["Alpha"]
    assert names("q=a-1") == ["Alpha"]


# Customer 360 -------------------------------------------------------------------------


@pytest.mark.parametrize("interactions", [5, 40])
def test_customer_page_runs_a_fixed_number_of_queries(
    clients, customer, staff, quality_manager, interactions, django_assert_max_num_queries
):
    contacts = [ContactFactory(customer=customer) for _ in range(3)]
    for n in range(interactions):
        InteractionFactory(
            customer=customer,
            actor=staff,
            contact_ids=[c.pk for c in contacts],
            staff_ids=[staff.pk, quality_manager.pk],
            follow_ups=[{"description": f"Action {n}", "owner": staff, "due_date": timezone.localdate()}],
        )
    from apps.core import panels

    # The page's own queries, plus one per panel other apps add (requirements, feedback, complaints, ...).
    with django_assert_max_num_queries(13 + len(panels._panels.get("customer", {}))):
        response = clients["staff"].get(f"/customers/{customer.pk}/")
    assert response.status_code == 200
    assert len(response.context["interactions"]) == interactions


def test_customer_page_shows_decrypted_contacts_and_erased_ones_by_number(clients, customer, contact, quality_manager):
    gone = ContactFactory(customer=customer, name="Jonas Petersen", email="jonas@nordwind.example", phone="+49 1")
    services.contact_erase(contact_id=gone.pk, actor=quality_manager, reason="request")
    content = main_content(clients["staff"].get(f"/customers/{customer.pk}/"))
    assert "Katrin Vogel" in content
    assert "k.vogel@nordwind.example" in content
    assert "+49 40 555" in content
    assert f"Erased contact #{gone.pk}" in content
    assert "Jonas" not in content
    assert "jonas@nordwind.example" not in content


def test_customer_page_marks_open_and_overdue_follow_ups(clients, customer, staff, quality_manager):
    today = timezone.localdate()
    interaction = InteractionFactory(
        customer=customer,
        actor=staff,
        follow_ups=[
            {"description": "Late report", "owner": staff, "due_date": today - timedelta(days=2)},
            {"description": "Upcoming call", "owner": staff, "due_date": today + timedelta(days=2)},
            {"description": "Finished task", "owner": staff, "due_date": today - timedelta(days=9)},
        ],
    )
    done = interaction.follow_ups.get(description="Finished task")
    services.follow_up_complete(follow_up_id=done.pk, actor=quality_manager)
    content = main_content(clients["staff"].get(f"/customers/{customer.pk}/"))
    assert content.count('data-testid="follow-up-open"') == 2
    assert content.count('data-testid="overdue"') == 1
    assert content.count('data-testid="follow-up-done"') == 1
    late_row = content[content.index("Late report") - 200 : content.index("Late report")]
    assert "table-danger" in late_row


@pytest.mark.parametrize(
    ("persona", "sees_button"), [("staff", True), ("other_staff", False), ("quality_manager", True)]
)
def test_mark_done_button_only_for_owner_or_quality_manager(clients, follow_up, persona, sees_button):
    content = main_content(clients[persona].get(f"/customers/{follow_up.interaction.customer_id}/"))
    assert (f"/customers/follow-ups/{follow_up.pk}/done/" in content) is sees_button


def test_customer_page_has_requirements_and_history(clients, customer, staff):
    services.customer_update(customer_id=customer.pk, actor=staff, segment="SME", reason="resegmented")
    response = clients["auditor"].get(f"/customers/{customer.pk}/")
    content = main_content(response)
    assert "No requirements recorded for this customer." in content
    assert "resegmented" in content
    assert [entry.action for entry in response.context["history"]] == [AuditEntry.Action.UPDATE]


# Forms: validation, services, audit -----------------------------------------------------


def test_customer_created_through_the_page_is_audited(clients, quality_manager):
    response = clients["quality_manager"].post(
        "/customers/new/",
        {"name": "Atlantic Foods Ltd", "kind": "organisation", "status": "active", "country": "GB", "segment": "SME"},
    )
    customer = Customer.objects.get(name="Atlantic Foods Ltd")
    assert response["Location"] == f"/customers/{customer.pk}/"
    entry = AuditEntry.objects.for_object(customer).get()
    assert (entry.action, entry.actor, entry.changes["country"]) == ("create", quality_manager, ["", "GB"])


def test_customer_updated_through_the_page_records_the_reason(clients, customer, staff):
    clients["staff"].post(
        f"/customers/{customer.pk}/edit/",
        {
            "name": customer.name,
            "kind": "organisation",
            "status": "inactive",
            "account_owner": staff.pk,
            "reason": "Lost",
        },
    )
    entry = AuditEntry.objects.for_object(customer).get()
    assert (entry.action, entry.actor, entry.reason) == ("update", staff, "Lost")
    assert entry.changes["status"] == ["active", "inactive"]


def test_contact_created_through_the_page_is_encrypted_and_audited_without_personal_data(clients, customer, staff):
    clients["staff"].post(
        f"/customers/{customer.pk}/contacts/new/",
        {
            "name": "Jonas Petersen",
            "email": "Jonas@Nordwind.example",
            "survey_consent": "on",
            "survey_consent_source": "email",
        },
    )
    contact = Contact.objects.with_email("jonas@nordwind.example").get()
    assert (contact.name, contact.email, contact.survey_consent_source) == (
        "Jonas Petersen",
        "jonas@nordwind.example",
        "email",
    )
    assert "Jonas" not in contact.name_ct
    entry = AuditEntry.objects.for_object(contact).get()
    assert entry.actor == staff
    assert entry.changes["name"] == [PERSONAL_DATA_MARK, PERSONAL_DATA_MARK]
    assert "Jonas" not in json.dumps(entry.changes)


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"kind": "organisation", "status": "active"}, {"name"}),
        ({"name": "X", "kind": "robot", "status": "active"}, {"kind"}),
        ({"name": "X", "kind": "organisation", "status": "active", "country": "XX"}, {"country"}),
        ({"name": "X", "kind": "organisation", "status": "active", "account_owner": "auditor"}, {"account_owner"}),
        ({"name": "X", "kind": "organisation", "status": "active", "account_owner": "inactive"}, {"account_owner"}),
        ({"name": "X", "kind": "organisation", "status": "active", "account_owner": "no_role"}, {"account_owner"}),
    ],
)
def test_customer_form_rejects_invalid_input(clients, auditor, data, errors):
    owners = {
        "auditor": auditor.pk,
        "inactive": UserFactory(role="staff", is_active=False).pk,
        "no_role": UserFactory().pk,
    }
    if "account_owner" in data:
        data = {**data, "account_owner": owners[data["account_owner"]]}
    response = clients["quality_manager"].post("/customers/new/", data)
    assert response.status_code == 200
    assert set(response.context["form"].errors) == errors
    assert not Customer.objects.exists()


def test_business_rule_violation_from_a_service_becomes_a_form_error(clients, monkeypatch):
    def refuse(**kwargs):
        raise BusinessRuleViolation("Customer limit reached.")

    monkeypatch.setattr(services, "customer_create", refuse)
    response = clients["quality_manager"].post(
        "/customers/new/", {"name": "X", "kind": "organisation", "status": "active"}
    )
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == ["Customer limit reached."]


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"email": "a@b.example"}, {"name"}),
        ({"name": "A", "email": "not-an-email"}, {"email"}),
        ({"name": "A", "email": "K.VOGEL@nordwind.example"}, {"email"}),
        ({"name": "A", "survey_consent": "on"}, {"survey_consent_source"}),
        ({"name": "A", "phone": "call me"}, {"phone"}),
        ({"name": "A", "preferred_language": "english!"}, {"preferred_language"}),
    ],
)
def test_contact_form_rejects_invalid_input(clients, customer, contact, data, errors):
    response = clients["staff"].post(f"/customers/{customer.pk}/contacts/new/", data)
    assert response.status_code == 200
    assert set(response.context["form"].errors) == errors
    assert Contact.objects.count() == 1


def test_contact_keeps_its_own_email_when_edited(clients, contact):
    response = clients["staff"].post(
        f"/customers/contacts/{contact.pk}/edit/", {"name": "Katrin V.", "email": "k.vogel@nordwind.example"}
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert (contact.name, contact.is_active) == ("Katrin V.", False)


def test_erased_contact_cannot_be_edited(clients, contact, quality_manager):
    services.contact_erase(contact_id=contact.pk, actor=quality_manager, reason="request")
    response = clients["staff"].post(f"/customers/contacts/{contact.pk}/edit/", {"name": "Back again"})
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.name == ""


def test_erasure_needs_a_reason_and_is_audited(clients, contact, quality_manager):
    response = clients["quality_manager"].post(f"/customers/contacts/{contact.pk}/erase/", {"reason": ""})
    assert response.status_code == 200
    assert "reason" in response.context["form"].errors
    assert Contact.objects.get(pk=contact.pk).erased_at is None
    clients["quality_manager"].post(f"/customers/contacts/{contact.pk}/erase/", {"reason": "Asked by phone"})
    entry = AuditEntry.objects.for_object(contact).get(action=AuditEntry.Action.ERASE)
    assert (entry.actor, entry.reason) == (quality_manager, "Asked by phone")


def test_quality_manager_sees_the_erase_form_and_staff_does_not(clients, contact):
    url = f"/customers/contacts/{contact.pk}/edit/"
    assert f"/customers/contacts/{contact.pk}/erase/" in main_content(clients["quality_manager"].get(url))
    assert f"/customers/contacts/{contact.pk}/erase/" not in main_content(clients["staff"].get(url))


def test_contact_export_is_a_json_attachment_and_audited(clients, contact, follow_up, quality_manager):
    response = clients["quality_manager"].get(f"/customers/contacts/{contact.pk}/export.json")
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == f'attachment; filename="contact-{contact.pk}.json"'
    body = response.json()
    assert body["contact"]["email"] == "k.vogel@nordwind.example"
    assert [i["id"] for i in body["interactions"]] == [follow_up.interaction_id]
    entry = AuditEntry.objects.for_object(contact).get(action=AuditEntry.Action.EXPORT)
    assert entry.actor == quality_manager


def test_interaction_logged_with_contacts_staff_and_follow_ups(clients, customer, contact, staff, other_staff):
    data = _interaction_data(
        contact_ids=[contact.pk],
        staff_ids=[staff.pk, other_staff.pk],
        **{
            "follow_ups-0-description": "Send offer",
            "follow_ups-0-owner": other_staff.pk,
            "follow_ups-0-due_date": "2026-03-01",
            "follow_ups-2-description": "Call back",
            "follow_ups-2-owner": staff.pk,
            "follow_ups-2-due_date": "2026-03-05",
        },
    )
    response = clients["staff"].post(f"/customers/{customer.pk}/interactions/new/", data)
    assert response.status_code == 302
    interaction = Interaction.objects.get()
    assert list(interaction.contacts.all()) == [contact]
    assert set(interaction.staff.all()) == {staff, other_staff}
    assert interaction.created_by == staff
    assert [(f.description, f.owner) for f in interaction.follow_ups.order_by("id")] == [
        ("Send offer", other_staff),
        ("Call back", staff),
    ]
    assert AuditEntry.objects.for_object(interaction).get().actor == staff


@pytest.mark.parametrize(
    ("problem", "errors"),
    [
        ("other_customers_contact", {"contacts"}),
        ("future_date", {"occurred_at"}),
        ("follow_up_without_owner", {"follow_ups-0": {"owner"}}),
        ("auditor_as_owner", {"follow_ups-0": {"owner"}}),
        ("no_summary", {"summary"}),
    ],
)
def test_interaction_form_rejects_invalid_input_and_writes_nothing(clients, customer, staff, auditor, problem, errors):
    stranger = ContactFactory(customer=CustomerFactory())
    data = _interaction_data()
    if problem == "other_customers_contact":
        data["contacts"] = [stranger.pk]
    elif problem == "future_date":
        data["occurred_at"] = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    elif problem == "follow_up_without_owner":
        data.update({"follow_ups-0-description": "Send offer", "follow_ups-0-due_date": "2026-03-01"})
    elif problem == "auditor_as_owner":
        data.update(
            {"follow_ups-0-description": "X", "follow_ups-0-owner": auditor.pk, "follow_ups-0-due_date": "2026-03-01"}
        )
    else:
        data["summary"] = ""
    response = clients["staff"].post(f"/customers/{customer.pk}/interactions/new/", data)
    assert response.status_code == 200
    found = set(response.context["form"].errors)
    for index, form in enumerate(response.context["formset"].forms):
        if form.errors:
            found.add(f"follow_ups-{index}")
    assert found == set(errors)
    if "follow_ups-0" in errors:
        assert set(response.context["formset"].forms[0].errors) == errors["follow_ups-0"]
    assert not Interaction.objects.exists()
    assert not FollowUpAction.objects.exists()


def test_follow_up_completion_is_audited(clients, follow_up, staff):
    clients["staff"].post(f"/customers/follow-ups/{follow_up.pk}/done/")
    entry = AuditEntry.objects.for_object(follow_up).get(action=AuditEntry.Action.UPDATE)
    assert entry.actor == staff


def test_product_code_must_be_unique_ignoring_case(clients, product):
    response = clients["quality_manager"].post(
        "/customers/products/new/", {"code": "cld-stor", "name": "Copy", "kind": "service"}
    )
    assert response.status_code == 200
    assert "already exists" in str(response.context["form"].errors["code"])
    assert Product.objects.count() == 1


def test_product_update_keeps_its_own_code_and_is_audited(clients, product, quality_manager):
    clients["quality_manager"].post(
        f"/customers/products/{product.pk}/edit/", {"code": "CLD-STOR", "name": "Cold store", "kind": "service"}
    )
    entry = AuditEntry.objects.for_object(product).get()
    assert (entry.action, entry.actor, entry.changes) == (
        "update",
        quality_manager,
        {"name": ["Cold storage", "Cold store"], "is_active": [True, False]},
    )


def test_customer_page_lists_its_requirements_through_the_requirements_panel(clients, staff):
    from tests.requirements.factories import RequirementFactory

    customer = CustomerFactory(name="Panel Customer GmbH")
    requirement = RequirementFactory(customer=customer, created_by=staff, title="Deliver within 48 hours")
    other = RequirementFactory(created_by=staff, title="Someone else's requirement")
    for persona in ("quality_manager", "staff", "auditor"):
        content = clients[persona].get(f"/customers/{customer.pk}/").content.decode()
        assert "Deliver within 48 hours" in content, persona
        assert f"/requirements/{requirement.pk}/" in content
        assert other.title not in content


def test_requirements_panel_needs_the_requirements_view_permission(db):
    from django.test import Client

    customer = CustomerFactory(name="Hidden Panel Ltd")
    viewer = UserFactory()
    viewer.user_permissions.add(Permission.objects.get(codename="view_customer", content_type__app_label="customers"))
    client = Client()
    client.force_login(viewer)
    response = client.get(f"/customers/{customer.pk}/")
    assert response.status_code == 200
    assert 'data-testid="requirements"' not in response.content.decode()
