import pytest
from rest_framework.test import APIClient

from apps.audit.models import AuditEntry
from apps.requirements import services
from apps.requirements.models import CustomerRequirement, RequirementReview
from tests.requirements.factories import CustomerFactory, ProductFactory, RequirementFactory

Status = CustomerRequirement.Status
API = "/api/v1/requirements/"
NEW = {
    "title": "Certificates of conformity",
    "type": "stated",
    "description": "Each batch comes with a certificate of conformity.",
    "source": "order",
    "source_reference": "PO 4500123987",
    "priority": "high",
    "target_date": "2026-12-31",
}
REVIEW = {"decision": "accept", "can_meet": True, "conditions": "Holidays excluded", "notes": ""}


def _client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


# Reading ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 200), ("staff", 200), ("other_staff", 200), ("auditor", 200), ("anonymous", 401)],
)
@pytest.mark.parametrize("rows", [5, 40])
def test_list_access_and_bounded_queries(
    api_clients, staff, other_staff, django_assert_max_num_queries, persona, expected, rows
):
    customers = [CustomerFactory(), CustomerFactory()]
    product = ProductFactory()
    for n in range(rows):
        RequirementFactory(
            created_by=staff if n % 2 else other_staff, customer=customers[n % 2] if n % 3 else None, product=product
        )
    with django_assert_max_num_queries(6):
        response = api_clients[persona].get(API)
    assert response.status_code == expected
    if expected == 200:
        body = response.json()
        assert len(body["results"]) == rows


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 200), ("staff", 200), ("other_staff", 200), ("auditor", 200), ("anonymous", 401)],
)
def test_retrieve_access(api_clients, draft, persona, expected):
    response = api_clients[persona].get(f"{API}{draft.pk}/")
    assert response.status_code == expected
    if expected == 200:
        body = response.json()
        assert (body["reference"], body["status"], body["version"], body["customer_name"]) == (
            draft.reference,
            "draft",
            1,
            "Acme Components",
        )
        assert body["owner"]["name"] == "Sasha Staff"


def test_unknown_requirement_is_404(api_clients):
    response = api_clients["auditor"].get(f"{API}999999/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_list_filters_search_and_ordering(api_clients, staff, other_staff, customer):
    product = ProductFactory()
    a = RequirementFactory(created_by=staff, customer=customer, title="Alpha packaging", priority="low")
    b = RequirementFactory(created_by=staff, customer=None, title="Beta", description="PVC packaging", product=product)
    c = RequirementFactory(created_by=other_staff, customer=customer, title="Gamma", type="regulatory")
    services.requirement_submit(requirement_id=a.pk, actor=staff)

    def titles(**params) -> list[str]:
        response = api_clients["auditor"].get(API, params)
        assert response.status_code == 200
        return [row["title"] for row in response.json()["results"]]

    assert titles(customer=customer.pk, ordering="title") == [a.title, c.title]
    assert titles(customer="null") == [b.title]
    assert titles(product=product.pk) == [b.title]
    assert titles(type="regulatory") == [c.title]
    assert titles(status="in_review") == [a.title]
    assert titles(owner=other_staff.pk) == [c.title]
    assert titles(q="packaging", ordering="-title") == [b.title, a.title]
    assert titles(ordering="priority_rank")[0] == a.title


@pytest.mark.parametrize(
    "params", [{"status": "bogus"}, {"customer": "abc"}, {"owner": "999999"}, {"customer": str(10**20)}]
)
def test_bad_filters_are_400_not_500(api_clients, params):
    response = api_clients["staff"].get(API, params)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 200), ("staff", 200), ("other_staff", 200), ("auditor", 200), ("anonymous", 401)],
)
def test_versions_and_reviews_are_readable_by_every_role(
    api_clients, make_requirement, staff, django_assert_max_num_queries, persona, expected
):
    requirement = make_requirement(Status.CHANGE_REQUESTED, title="Paper")
    services.requirement_update(requirement_id=requirement.pk, actor=staff, title="PDF")
    with django_assert_max_num_queries(6):
        versions = api_clients[persona].get(f"{API}{requirement.pk}/versions/")
    reviews = api_clients[persona].get(f"{API}{requirement.pk}/reviews/")
    changes = api_clients[persona].get(f"{API}{requirement.pk}/change_requests/")
    assert (versions.status_code, reviews.status_code, changes.status_code) == (expected,) * 3
    if expected == 200:
        assert [(v["number"], v["title"], v["reviewed"]) for v in versions.json()] == [
            (1, "Paper", True),
            (2, "PDF", False),
        ]
        assert [(r["version"], r["decision"], r["can_meet"]) for r in reviews.json()] == [(1, "accept", True)]
        assert [c["reason"] for c in changes.json()] == ["Customer asked"]


# Creating and editing ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 201), ("staff", 201), ("auditor", 403), ("anonymous", 401)],
)
def test_create_access(api_clients, customer, persona, expected):
    response = api_clients[persona].post(API, {**NEW, "customer": customer.pk}, format="json")
    assert response.status_code == expected
    assert CustomerRequirement.objects.exists() is (expected == 201)
    if expected == 201:
        body = response.json()
        assert (body["status"], body["version"], body["customer"]) == ("draft", 1, customer.pk)


def test_create_a_general_requirement_ignores_a_status_in_the_body(api_clients, staff):
    response = api_clients["staff"].post(API, {**NEW, "customer": None, "status": "accepted"}, format="json")
    assert response.status_code == 201
    requirement = CustomerRequirement.objects.get()
    assert (requirement.customer, requirement.status, requirement.owner) == (None, Status.DRAFT, staff)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"customer": 999999}, "customer"),
        ({"product": 999999}, "product"),
        ({"owner": 999999}, "owner"),
        ({"customer": "abc"}, "customer"),
        ({"type": "wishful"}, "type"),
        ({"priority": "urgent"}, "priority"),
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"target_date": "31.12.2026"}, "target_date"),
        ({"description": None}, "description"),
        ({"customer": 10**20}, "customer"),
        ({"title": "null\x00byte"}, "title"),
    ],
)
def test_create_with_bad_input_is_400_and_writes_nothing(api_clients, overrides, field):
    response = api_clients["staff"].post(API, {**NEW, **overrides}, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not CustomerRequirement.objects.exists()


def test_create_with_missing_fields_lists_them(api_clients):
    response = api_clients["staff"].post(API, {}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"title", "type", "description", "source"}


def test_malformed_json_is_400(api_clients):
    response = api_clients["staff"].post(API, "{not json", content_type="application/json")
    assert response.status_code == 400


def test_a_body_that_is_not_an_object_is_400(api_clients, draft):
    assert api_clients["staff"].post(API, [1, 2], format="json").status_code == 400
    assert api_clients["staff"].patch(f"{API}{draft.pk}/", [1], format="json").status_code == 400
    assert api_clients["staff"].post(f"{API}{draft.pk}/withdraw/", "x", format="json").status_code == 400


def test_an_out_of_range_id_is_404(api_clients):
    assert api_clients["staff"].get(f"{API}{10**20}/").status_code == 404


def test_an_auditor_cannot_be_made_owner(api_clients, auditor):
    response = api_clients["staff"].post(API, {**NEW, "owner": auditor.pk}, format="json")
    assert response.status_code == 400
    assert "owner" in response.json()["error"]["fields"]


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("staff", 200), ("quality_manager", 200), ("other_staff", 403), ("auditor", 403), ("anonymous", 401)],
)
def test_partial_update_follows_the_object_rule(api_clients, draft, persona, expected):
    response = api_clients[persona].patch(f"{API}{draft.pk}/", {"title": "Edited", "reason": "typo"}, format="json")
    assert response.status_code == expected
    assert (CustomerRequirement.objects.get(pk=draft.pk).title == "Edited") is (expected == 200)
    if expected == 200:
        assert AuditEntry.objects.for_object(draft).latest("seq").reason == "typo"


def test_status_cannot_be_patched(api_clients, draft):
    response = api_clients["staff"].patch(f"{API}{draft.pk}/", {"status": "accepted", "version": 9}, format="json")
    assert response.status_code == 200
    draft.refresh_from_db()
    assert (draft.status, draft.version) == (Status.DRAFT, 1)


def test_patch_after_review_writes_a_new_version(api_clients, make_requirement):
    requirement = make_requirement(Status.CHANGE_REQUESTED)
    response = api_clients["staff"].patch(
        f"{API}{requirement.pk}/", {"description": "Now as PDF", "product": None}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["version"] == 2


@pytest.mark.parametrize("start", [Status.IN_REVIEW, Status.ACCEPTED, Status.WITHDRAWN])
def test_patch_of_a_requirement_that_is_not_editable_is_409(api_clients, make_requirement, start):
    requirement = make_requirement(start)
    response = api_clients["staff"].patch(f"{API}{requirement.pk}/", {"title": "Sneaky"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"


@pytest.mark.parametrize(("overrides", "field"), [({"product": 999999}, "product"), ({"title": ""}, "title")])
def test_patch_with_bad_input_is_400_and_changes_nothing(api_clients, draft, overrides, field):
    response = api_clients["staff"].patch(f"{API}{draft.pk}/", overrides, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert CustomerRequirement.objects.get(pk=draft.pk).title == draft.title


@pytest.mark.parametrize("method", ["put", "delete"])
@pytest.mark.parametrize("persona", ["quality_manager", "staff"])
def test_no_replace_or_delete(api_clients, draft, method, persona):
    response = getattr(api_clients[persona], method)(f"{API}{draft.pk}/", NEW, format="json")
    # DELETE is refused by the permission check (no role holds delete) before the method check.
    assert response.status_code in {403, 405}
    assert CustomerRequirement.objects.filter(pk=draft.pk).exists()


# Workflow actions -------------------------------------------------------------------------

WRITE_MATRIX = [
    ("staff", 200),
    ("quality_manager", 200),
    ("other_staff", 403),
    ("auditor", 403),
    ("anonymous", 401),
]


@pytest.mark.parametrize(("persona", "expected"), WRITE_MATRIX)
def test_submit(api_clients, draft, persona, expected):
    response = api_clients[persona].post(f"{API}{draft.pk}/submit/", format="json")
    assert response.status_code == expected
    if expected == 200:
        assert response.json()["status"] == "in_review"
        assert response.json()["review_due_at"] is not None
    else:
        assert CustomerRequirement.objects.get(pk=draft.pk).status == Status.DRAFT


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 200), ("staff", 403), ("other_staff", 403), ("auditor", 403), ("anonymous", 401)],
)
def test_review_is_for_reviewers(api_clients, make_requirement, persona, expected):
    requirement = make_requirement(Status.IN_REVIEW)
    response = api_clients[persona].post(f"{API}{requirement.pk}/review/", REVIEW, format="json")
    assert response.status_code == expected
    assert RequirementReview.objects.exists() is (expected == 200)
    if expected == 200:
        assert response.json()["status"] == "accepted"


@pytest.mark.parametrize(("with_permission", "expected"), [(True, 200), (False, 403)])
def test_review_permission_given_to_one_staff_member(
    make_requirement, other_staff, grant_review, with_permission, expected
):
    requirement = make_requirement(Status.IN_REVIEW)
    client = _client_for(grant_review(other_staff) if with_permission else other_staff)
    response = client.post(f"{API}{requirement.pk}/review/", REVIEW, format="json")
    assert response.status_code == expected


@pytest.mark.parametrize(("four_eyes", "expected"), [(True, 409), (False, 200)])
def test_review_of_ones_own_requirement_is_409_with_four_eyes(
    api_clients, make_requirement, quality_manager, settings, four_eyes, expected
):
    settings.REQUIREMENTS_FOUR_EYES = four_eyes
    requirement = make_requirement(Status.IN_REVIEW, author=quality_manager)
    response = api_clients["quality_manager"].post(f"{API}{requirement.pk}/review/", REVIEW, format="json")
    assert response.status_code == expected
    if four_eyes:
        assert "Four eyes" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"decision": "accept", "can_meet": False}, "can_meet"),
        ({"decision": "reject", "can_meet": False, "notes": ""}, "notes"),
        ({"decision": "maybe", "can_meet": True}, "decision"),
        ({"decision": "accept"}, "can_meet"),
        ({"decision": "accept", "can_meet": "perhaps"}, "can_meet"),
    ],
)
def test_review_with_bad_input_is_400(api_clients, make_requirement, body, field):
    requirement = make_requirement(Status.IN_REVIEW)
    response = api_clients["quality_manager"].post(f"{API}{requirement.pk}/review/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not RequirementReview.objects.exists()


def test_review_of_a_draft_is_409(api_clients, draft):
    response = api_clients["quality_manager"].post(f"{API}{draft.pk}/review/", REVIEW, format="json")
    assert response.status_code == 409
    assert not RequirementReview.objects.exists()


@pytest.mark.parametrize(("persona", "expected"), WRITE_MATRIX)
def test_request_change(api_clients, make_requirement, other_staff, persona, expected):
    requirement = make_requirement(Status.ACCEPTED)
    body = {"reason": "PDF certificates", "informed": "Buyer", "informed_users": [other_staff.pk]}
    response = api_clients[persona].post(f"{API}{requirement.pk}/request_change/", body, format="json")
    assert response.status_code == expected
    requirement.refresh_from_db()
    assert requirement.status == (Status.CHANGE_REQUESTED if expected == 200 else Status.ACCEPTED)
    if expected == 200:
        entry = AuditEntry.objects.for_object(requirement).latest("seq")
        assert (entry.reason, entry.changes["informed"]) == ("PDF certificates", [None, "Buyer"])


@pytest.mark.parametrize(
    "body", [{}, {"reason": ""}, {"reason": "x", "informed_users": [999999]}, {"reason": "x", "informed_users": "x"}]
)
def test_request_change_with_bad_input_is_400(api_clients, make_requirement, body):
    requirement = make_requirement(Status.ACCEPTED)
    response = api_clients["staff"].post(f"{API}{requirement.pk}/request_change/", body, format="json")
    assert response.status_code == 400
    assert CustomerRequirement.objects.get(pk=requirement.pk).status == Status.ACCEPTED


def test_request_change_of_a_draft_is_409(api_clients, draft):
    response = api_clients["staff"].post(f"{API}{draft.pk}/request_change/", {"reason": "x"}, format="json")
    assert response.status_code == 409


@pytest.mark.parametrize(("persona", "expected"), WRITE_MATRIX)
def test_withdraw(api_clients, draft, persona, expected):
    response = api_clients[persona].post(f"{API}{draft.pk}/withdraw/", {"reason": "Cancelled"}, format="json")
    assert response.status_code == expected
    status = CustomerRequirement.objects.get(pk=draft.pk).status
    assert status == (Status.WITHDRAWN if expected == 200 else Status.DRAFT)


def test_withdraw_needs_a_reason_and_is_final(api_clients, draft):
    assert api_clients["staff"].post(f"{API}{draft.pk}/withdraw/", {"reason": ""}, format="json").status_code == 400
    assert api_clients["staff"].post(f"{API}{draft.pk}/withdraw/", {"reason": "x"}, format="json").status_code == 200
    assert api_clients["staff"].post(f"{API}{draft.pk}/withdraw/", {"reason": "x"}, format="json").status_code == 409


@pytest.mark.parametrize(("persona", "expected"), WRITE_MATRIX)
def test_rework(api_clients, make_requirement, persona, expected):
    requirement = make_requirement(Status.REJECTED)
    response = api_clients[persona].post(f"{API}{requirement.pk}/rework/", format="json")
    assert response.status_code == expected
    status = CustomerRequirement.objects.get(pk=requirement.pk).status
    assert status == (Status.DRAFT if expected == 200 else Status.REJECTED)


@pytest.mark.parametrize("action", ["submit", "withdraw", "request_change", "rework"])
def test_another_staff_members_requirement_by_id_is_403(api_clients, make_requirement, other_staff, action):
    theirs = make_requirement(Status.DRAFT, author=other_staff)
    response = api_clients["staff"].post(f"{API}{theirs.pk}/{action}/", {"reason": "x"}, format="json")
    assert response.status_code == 403
    assert api_clients["staff"].patch(f"{API}{theirs.pk}/", {"title": "x"}, format="json").status_code == 403


def test_unknown_requirement_actions_are_404(api_clients):
    for action in ("submit", "review", "withdraw", "request_change", "rework"):
        response = api_clients["quality_manager"].post(f"{API}999999/{action}/", {"reason": "x"}, format="json")
        assert response.status_code == 404


def test_full_flow_through_the_api(api_clients, customer):
    staff, manager = api_clients["staff"], api_clients["quality_manager"]
    pk = staff.post(API, {**NEW, "customer": customer.pk}, format="json").json()["id"]
    assert staff.post(f"{API}{pk}/submit/").json()["status"] == "in_review"
    assert manager.post(f"{API}{pk}/review/", REVIEW, format="json").json()["status"] == "accepted"
    assert manager.post(f"{API}{pk}/request_change/", {"reason": "PDF"}, format="json").status_code == 200
    assert staff.patch(f"{API}{pk}/", {"title": "Certificates as PDF"}, format="json").json()["version"] == 2
    assert staff.post(f"{API}{pk}/submit/").status_code == 200
    assert manager.post(f"{API}{pk}/review/", REVIEW, format="json").json()["status"] == "accepted"
    assert [v["title"] for v in staff.get(f"{API}{pk}/versions/").json()] == [NEW["title"], "Certificates as PDF"]
