import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.requirements import services
from apps.requirements.models import CustomerRequirement, RequirementReview
from tests.requirements.factories import CustomerFactory, ProductFactory, RequirementFactory

Status = CustomerRequirement.Status
LOGIN = "/accounts/login/"


def _form(**overrides) -> dict:
    data = {
        "title": "Tracking link in every shipment e-mail",
        "type": "stated",
        "description": "Every shipment notification contains a working tracking link.",
        "acceptance_criteria": "99 % of links work.",
        "source": "order",
        "source_reference": "PO 4711",
        "priority": "high",
        "target_date": "2026-12-31",
    }
    return {**data, **overrides}


def _post_forms(html: str) -> list[str]:
    """The action attributes of the page's POST forms (the sign-out form is in every page)."""
    return re.findall(r'<form method="post"(?: action="([^"]*)")?', html)


# Pages: role x outcome ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 200), ("staff", 200), ("other_staff", 200), ("auditor", 200), ("anonymous", 302)],
)
def test_list_page_access(clients, draft, persona, expected):
    response = clients[persona].get("/requirements/")
    assert response.status_code == expected
    if expected == 302:
        assert response["Location"].startswith(LOGIN)
    else:
        assert draft.title in response.content.decode()


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 200), ("staff", 403), ("other_staff", 403), ("auditor", 403), ("anonymous", 302)],
)
def test_review_queue_is_for_reviewers(clients, make_requirement, persona, expected):
    waiting = make_requirement(Status.IN_REVIEW, title="Waiting for a reviewer")
    make_requirement(Status.DRAFT, title="Still a draft")
    response = clients[persona].get("/requirements/review-queue/")
    assert response.status_code == expected
    if expected == 200:
        assert list(response.context["object_list"]) == [CustomerRequirement.objects.get(pk=waiting.pk)]


def test_review_queue_opens_to_a_staff_member_given_the_review_permission(other_staff, grant_review):
    client = Client()
    client.force_login(grant_review(other_staff))
    assert client.get("/requirements/review-queue/").status_code == 200


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 200), ("staff", 200), ("other_staff", 200), ("auditor", 200), ("anonymous", 302)],
)
def test_detail_page_access(clients, draft, persona, expected):
    assert clients[persona].get(f"/requirements/{draft.pk}/").status_code == expected


@pytest.mark.parametrize(
    "path",
    [
        "/requirements/999999/",
        "/requirements/99999999999999999999/",
        "/requirements/999999/versions/1/",
        "/requirements/{pk}/versions/9/",
        "/requirements/{pk}/versions/99999999999999999999/",
    ],
)
def test_unknown_requirement_or_version_is_404(clients, draft, path):
    assert clients["auditor"].get(path.format(pk=draft.pk)).status_code == 404


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 200), ("staff", 200), ("auditor", 200), ("anonymous", 302)],
)
def test_every_version_stays_readable(clients, make_requirement, staff, persona, expected):
    requirement = make_requirement(Status.CHANGE_REQUESTED, title="Paper certificates")
    services.requirement_update(requirement_id=requirement.pk, actor=staff, title="PDF certificates")
    response = clients[persona].get(f"/requirements/{requirement.pk}/versions/1/")
    assert response.status_code == expected
    if expected == 200:
        assert "Paper certificates" in response.content.decode()
        assert "An earlier version" in response.content.decode()


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 200), ("staff", 200), ("auditor", 403), ("anonymous", 302)],
)
def test_create_page_access(clients, persona, expected):
    assert clients[persona].get("/requirements/new/").status_code == expected


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 302), ("staff", 302), ("auditor", 403), ("anonymous", 302)],
)
def test_only_writers_record_requirements(clients, customer, staff, persona, expected):
    response = clients[persona].post("/requirements/new/", _form(customer=customer.pk, owner=staff.pk))
    created = CustomerRequirement.objects.filter(title=_form()["title"]).first()
    assert response.status_code == expected
    assert (created is not None) is (persona in {"quality_manager", "staff"})
    if created:
        assert response["Location"] == f"/requirements/{created.pk}/"
        assert created.customer == customer


def test_create_form_records_a_general_requirement_with_owner_and_product(clients, staff, other_staff):
    product = ProductFactory()
    response = clients["staff"].post("/requirements/new/", _form(customer="", product=product.pk, owner=other_staff.pk))
    assert response.status_code == 302
    requirement = CustomerRequirement.objects.get()
    assert (requirement.customer, requirement.product, requirement.owner, requirement.created_by) == (
        None,
        product,
        other_staff,
        staff,
    )


@pytest.mark.parametrize(
    "overrides",
    [
        {"title": ""},
        {"type": "wishful"},
        {"priority": "urgent"},
        {"target_date": "31/31/2026"},
        {"customer": "999999"},
        {"product": "not-a-number"},
        {"owner": "999999"},
        {"title": "x" * 201},
        {"customer": str(10**20)},
        {"description": "null\x00byte"},
    ],
)
def test_create_form_shows_errors_for_bad_input_and_writes_nothing(clients, staff, overrides):
    response = clients["staff"].post("/requirements/new/", _form(**{"owner": staff.pk, **overrides}))
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not CustomerRequirement.objects.exists()
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.CREATE, object_label__startswith="Requirement")


def test_create_form_refuses_an_auditor_as_owner(clients, auditor):
    response = clients["staff"].post("/requirements/new/", _form(owner=auditor.pk))
    assert "owner" in response.context["form"].errors


@pytest.mark.parametrize(
    ("persona", "get_expected", "post_expected"),
    [
        ("staff", 200, 302),
        ("quality_manager", 200, 302),
        ("other_staff", 403, 403),
        ("auditor", 403, 403),
        ("anonymous", 302, 302),
    ],
)
def test_edit_access_follows_the_object_rule(clients, draft, staff, persona, get_expected, post_expected):
    url = f"/requirements/{draft.pk}/edit/"
    assert clients[persona].get(url).status_code == get_expected
    response = clients[persona].post(url, _form(title="Edited title", owner=staff.pk))
    assert response.status_code == post_expected
    edited = CustomerRequirement.objects.get(pk=draft.pk).title == "Edited title"
    assert edited is (persona in {"staff", "quality_manager"})


def test_another_staff_members_draft_is_403_by_id(clients, make_requirement, other_staff):
    theirs = make_requirement(Status.DRAFT, author=other_staff)
    assert clients["staff"].get(f"/requirements/{theirs.pk}/edit/").status_code == 403
    assert clients["staff"].post(f"/requirements/{theirs.pk}/submit/").status_code == 403
    assert clients["staff"].post(f"/requirements/{theirs.pk}/withdraw/", {"reason": "x"}).status_code == 403
    assert CustomerRequirement.objects.get(pk=theirs.pk).status == Status.DRAFT


def test_edit_form_says_when_saving_starts_a_new_version(clients, make_requirement, staff):
    requirement = make_requirement(Status.CHANGE_REQUESTED)
    response = clients["staff"].get(f"/requirements/{requirement.pk}/edit/")
    assert "writes version 2" in response.content.decode()
    response = clients["staff"].post(
        f"/requirements/{requirement.pk}/edit/", _form(owner=staff.pk, reason="Customer asked for 24 h")
    )
    assert response.status_code == 302
    requirement.refresh_from_db()
    assert requirement.version == 2
    entry = AuditEntry.objects.for_object(requirement).latest("seq")
    assert (entry.reason, entry.changes["version"]) == ("Customer asked for 24 h", [1, 2])


@pytest.mark.parametrize("start", [Status.IN_REVIEW, Status.ACCEPTED, Status.WITHDRAWN])
def test_edit_of_a_requirement_that_is_not_editable_goes_back_with_a_message(clients, make_requirement, staff, start):
    requirement = make_requirement(start)
    for response in (
        clients["staff"].get(f"/requirements/{requirement.pk}/edit/", follow=True),
        clients["staff"].post(f"/requirements/{requirement.pk}/edit/", _form(owner=staff.pk), follow=True),
    ):
        assert response.redirect_chain[-1][0] == f"/requirements/{requirement.pk}/"
        assert "Only drafts" in response.content.decode()
    assert CustomerRequirement.objects.get(pk=requirement.pk).title == requirement.title


def test_edit_form_errors_change_nothing(clients, draft, staff):
    response = clients["staff"].post(f"/requirements/{draft.pk}/edit/", _form(title="", owner=staff.pk))
    assert response.status_code == 200
    assert "title" in response.context["form"].errors
    assert CustomerRequirement.objects.get(pk=draft.pk).title == draft.title


# Workflow steps: role x outcome ---------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "expected", "moved"),
    [
        ("staff", 302, True),
        ("quality_manager", 302, True),
        ("other_staff", 403, False),
        ("auditor", 403, False),
        ("anonymous", 302, False),
    ],
)
def test_submit_for_review(clients, draft, persona, expected, moved):
    response = clients[persona].post(f"/requirements/{draft.pk}/submit/")
    assert response.status_code == expected
    status = CustomerRequirement.objects.get(pk=draft.pk).status
    assert status == (Status.IN_REVIEW if moved else Status.DRAFT)


def test_workflow_buttons_are_post_only(clients, draft):
    assert clients["staff"].get(f"/requirements/{draft.pk}/submit/").status_code == 405
    assert clients["staff"].get(f"/requirements/{draft.pk}/rework/").status_code == 405


def test_a_refused_transition_comes_back_as_a_message(clients, make_requirement):
    requirement = make_requirement(Status.ACCEPTED)
    response = clients["staff"].post(f"/requirements/{requirement.pk}/submit/", follow=True)
    assert response.status_code == 200
    assert "cannot go from Accepted to In review" in response.content.decode()
    assert CustomerRequirement.objects.get(pk=requirement.pk).status == Status.ACCEPTED


REVIEW = {"decision": "accept", "can_meet": "on", "conditions": "Holidays excluded", "notes": ""}


@pytest.mark.parametrize(
    ("persona", "get_expected", "post_expected"),
    [
        ("quality_manager", 200, 302),
        ("staff", 403, 403),
        ("other_staff", 403, 403),
        ("auditor", 403, 403),
        ("anonymous", 302, 302),
    ],
)
def test_only_reviewers_review(clients, make_requirement, persona, get_expected, post_expected):
    requirement = make_requirement(Status.IN_REVIEW)
    url = f"/requirements/{requirement.pk}/review/"
    assert clients[persona].get(url).status_code == get_expected
    assert clients[persona].post(url, REVIEW).status_code == post_expected
    accepted = CustomerRequirement.objects.get(pk=requirement.pk).status == Status.ACCEPTED
    assert accepted is (post_expected == 302 and persona != "anonymous")


@pytest.mark.parametrize(("with_permission", "expected"), [(True, 302), (False, 403)])
def test_a_staff_member_reviews_with_the_permission_given_individually(
    make_requirement, other_staff, grant_review, with_permission, expected
):
    requirement = make_requirement(Status.IN_REVIEW)
    client = Client()
    client.force_login(grant_review(other_staff) if with_permission else other_staff)
    response = client.post(f"/requirements/{requirement.pk}/review/", REVIEW)
    assert response.status_code == expected
    assert RequirementReview.objects.filter(requirement=requirement).exists() is with_permission


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"decision": "accept", "notes": ""}, "can_meet"),
        ({"decision": "reject", "notes": " "}, "notes"),
        ({"decision": "maybe", "can_meet": "on"}, "decision"),
    ],
)
def test_review_form_validates_the_decision(clients, make_requirement, data, field):
    requirement = make_requirement(Status.IN_REVIEW)
    response = clients["quality_manager"].post(f"/requirements/{requirement.pk}/review/", data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not RequirementReview.objects.exists()


@pytest.mark.parametrize(("four_eyes", "expected"), [(True, 200), (False, 302)])
def test_review_form_applies_four_eyes(clients, make_requirement, quality_manager, settings, four_eyes, expected):
    settings.REQUIREMENTS_FOUR_EYES = four_eyes
    requirement = make_requirement(Status.IN_REVIEW, author=quality_manager)
    detail = clients["quality_manager"].get(f"/requirements/{requirement.pk}/").content.decode()
    assert ('data-testid="four-eyes"' in detail) is four_eyes
    assert (f'href="/requirements/{requirement.pk}/review/"' in detail) is not four_eyes
    response = clients["quality_manager"].post(f"/requirements/{requirement.pk}/review/", REVIEW)
    assert response.status_code == expected
    if four_eyes:
        assert "Four eyes" in str(response.context["form"].non_field_errors())
    status = CustomerRequirement.objects.get(pk=requirement.pk).status
    assert status == (Status.IN_REVIEW if four_eyes else Status.ACCEPTED)


def test_review_page_of_a_requirement_not_in_review_goes_back(clients, draft):
    response = clients["quality_manager"].get(f"/requirements/{draft.pk}/review/")
    assert response.status_code == 302
    response = clients["quality_manager"].post(f"/requirements/{draft.pk}/review/", REVIEW)
    assert response.status_code == 200
    assert "cannot go from Draft to Accepted" in str(response.context["form"].non_field_errors())


@pytest.mark.parametrize(
    ("persona", "expected", "moved"),
    [
        ("staff", 302, True),
        ("quality_manager", 302, True),
        ("other_staff", 403, False),
        ("auditor", 403, False),
        ("anonymous", 302, False),
    ],
)
def test_request_change(clients, make_requirement, other_staff, persona, expected, moved):
    requirement = make_requirement(Status.ACCEPTED)
    response = clients[persona].post(
        f"/requirements/{requirement.pk}/request-change/",
        {"reason": "PDF instead of paper", "informed": "Buyer", "informed_users": [other_staff.pk]},
    )
    assert response.status_code == expected
    requirement.refresh_from_db()
    assert requirement.status == (Status.CHANGE_REQUESTED if moved else Status.ACCEPTED)
    if moved:
        entry = AuditEntry.objects.for_object(requirement).latest("seq")
        assert entry.reason == "PDF instead of paper"
        assert list(requirement.change_requests.get().informed_users.all()) == [other_staff]


def test_request_change_needs_a_reason(clients, make_requirement):
    requirement = make_requirement(Status.ACCEPTED)
    response = clients["staff"].post(f"/requirements/{requirement.pk}/request-change/", {"reason": ""})
    assert response.status_code == 200
    assert "reason" in response.context["form"].errors
    response = clients["staff"].post(
        f"/requirements/{requirement.pk}/request-change/", {"reason": "x", "informed_users": ["999999"]}
    )
    assert "informed_users" in response.context["form"].errors
    assert CustomerRequirement.objects.get(pk=requirement.pk).status == Status.ACCEPTED


@pytest.mark.parametrize(
    ("persona", "expected", "moved"),
    [
        ("staff", 302, True),
        ("quality_manager", 302, True),
        ("other_staff", 403, False),
        ("auditor", 403, False),
        ("anonymous", 302, False),
    ],
)
def test_withdraw(clients, draft, persona, expected, moved):
    response = clients[persona].post(f"/requirements/{draft.pk}/withdraw/", {"reason": "Order cancelled"})
    assert response.status_code == expected
    assert CustomerRequirement.objects.get(pk=draft.pk).status == (Status.WITHDRAWN if moved else Status.DRAFT)


def test_withdraw_needs_a_reason_and_is_final(clients, draft):
    response = clients["staff"].post(f"/requirements/{draft.pk}/withdraw/", {"reason": "  "})
    assert response.status_code == 200
    assert "reason" in response.context["form"].errors
    clients["staff"].post(f"/requirements/{draft.pk}/withdraw/", {"reason": "Order cancelled"})
    assert clients["staff"].get(f"/requirements/{draft.pk}/withdraw/").status_code == 302
    response = clients["staff"].post(f"/requirements/{draft.pk}/withdraw/", {"reason": "Again"})
    assert "cannot go from Withdrawn" in str(response.context["form"].non_field_errors())


@pytest.mark.parametrize(
    ("persona", "expected", "moved"),
    [("staff", 302, True), ("quality_manager", 302, True), ("other_staff", 403, False), ("auditor", 403, False)],
)
def test_rework_a_rejected_requirement(clients, make_requirement, persona, expected, moved):
    requirement = make_requirement(Status.REJECTED)
    response = clients[persona].post(f"/requirements/{requirement.pk}/rework/")
    assert response.status_code == expected
    assert CustomerRequirement.objects.get(pk=requirement.pk).status == (Status.DRAFT if moved else Status.REJECTED)


# What each role sees ---------------------------------------------------------------------


@pytest.mark.parametrize("start", Status.values)
def test_auditor_sees_no_forms_or_action_buttons(clients, make_requirement, start):
    requirement = make_requirement(start)
    html = clients["auditor"].get(f"/requirements/{requirement.pk}/").content.decode()
    assert _post_forms(html) == ["/accounts/logout/"]
    assert 'data-testid="actions"' not in html
    for label in ("Edit", "Submit for review", "Review", "Request change", "Withdraw", "Rework as draft"):
        assert f">{label}</" not in html
    listing = clients["auditor"].get("/requirements/").content.decode()
    assert "New requirement" not in listing
    assert _post_forms(listing) == ["/accounts/logout/"]


@pytest.mark.parametrize(
    ("persona", "start", "actions"),
    [
        ("staff", Status.DRAFT, {"edit", "submit", "withdraw"}),
        ("other_staff", Status.DRAFT, set()),
        ("quality_manager", Status.DRAFT, {"edit", "submit", "withdraw"}),
        ("staff", Status.IN_REVIEW, {"withdraw"}),
        ("quality_manager", Status.IN_REVIEW, {"review", "withdraw"}),
        ("staff", Status.ACCEPTED, {"request_change", "withdraw"}),
        ("staff", Status.REJECTED, {"rework", "withdraw"}),
        ("staff", Status.CHANGE_REQUESTED, {"edit", "submit", "withdraw"}),
        ("quality_manager", Status.WITHDRAWN, set()),
    ],
)
def test_detail_offers_exactly_the_actions_the_user_may_take(clients, make_requirement, persona, start, actions):
    requirement = make_requirement(start)
    response = clients[persona].get(f"/requirements/{requirement.pk}/")
    offered = {name for name, allowed in response.context["actions"].items() if allowed}
    assert offered == actions
    html = response.content.decode()
    expected_forms = ["/accounts/logout/"]
    expected_forms += [f"/requirements/{requirement.pk}/{name}/" for name in ("submit", "rework") if name in actions]
    assert _post_forms(html) == expected_forms


def test_detail_shows_versions_diff_reviews_change_requests_and_history(clients, make_requirement, staff):
    requirement = make_requirement(Status.CHANGE_REQUESTED, description="Deliver within 48 hours.")
    services.requirement_update(
        requirement_id=requirement.pk, actor=staff, description="Deliver within 24 hours, weekends too."
    )
    response = clients["auditor"].get(f"/requirements/{requirement.pk}/")
    html = response.content.decode()
    assert 'data-testid="versions"' in html
    assert "Version 2" in html
    assert (
        '<ins class="bg-success-subtle text-success-emphasis"><span class="visually-hidden">added: </span>24 </ins>'
        in html
    )
    assert (
        '<del class="bg-danger-subtle text-danger-emphasis"><span class="visually-hidden">removed: </span>48 </del>'
        in html
    )
    assert 'data-testid="reviews"' in html
    assert 'data-testid="change-requests"' in html
    assert "Customer asked" in html
    assert len(response.context["history"]) == 5  # create, submit, review, change request, edit


def test_diff_between_any_two_versions_and_bad_choices_never_fail(clients, make_requirement, staff, quality_manager):
    requirement = make_requirement(Status.CHANGE_REQUESTED, title="One")
    services.requirement_update(requirement_id=requirement.pk, actor=staff, title="Two")
    services.requirement_submit(requirement_id=requirement.pk, actor=staff)
    services.requirement_review(requirement_id=requirement.pk, actor=quality_manager, decision="accept", can_meet=True)
    services.requirement_request_change(requirement_id=requirement.pk, actor=staff, reason="Again")
    services.requirement_update(requirement_id=requirement.pk, actor=staff, title="Three")
    url = f"/requirements/{requirement.pk}/"

    response = clients["staff"].get(url, {"from": "1", "to": "3"})
    (change,) = response.context["diff"]
    assert [(s.op, s.text) for s in change.segments] == [("delete", "One"), ("insert", "Three")]
    assert clients["staff"].get(url).context["diff_from"].number == 2
    for bad in ({"from": "abc"}, {"from": "-1"}, {"to": "99"}, {"from": "1", "to": "1e3"}):
        response = clients["staff"].get(url, bad)
        assert response.status_code == 200
        assert response.context["diff_error"]


def test_overdue_reviews_are_highlighted_with_the_rule_shown(clients, make_requirement, settings):
    settings.REQUIREMENTS_REVIEW_DUE_DAYS = 5
    late = make_requirement(Status.IN_REVIEW, title="Waiting too long")
    make_requirement(Status.IN_REVIEW, title="Just submitted")
    CustomerRequirement.objects.filter(pk=late.pk).unaudited_update(submitted_at=timezone.now() - timedelta(days=6))

    html = clients["quality_manager"].get("/requirements/review-queue/").content.decode()
    assert "more than 5 days since it was submitted" in html
    assert html.count('data-testid="overdue"') == 1
    assert html.index("Waiting too long") < html.index("Just submitted")
    detail = clients["quality_manager"].get(f"/requirements/{late.pk}/").content.decode()
    assert "The review is overdue" in detail


# Lists: filters, search, sorting, pagination, queries ---------------------------------------


def test_list_filters_search_and_sorts(clients, staff, other_staff, customer):
    other_customer = CustomerFactory(name="Other Corp")
    product = ProductFactory()
    a = RequirementFactory(created_by=staff, customer=customer, title="Alpha packaging", priority="low")
    b = RequirementFactory(
        created_by=staff, customer=other_customer, title="Beta", description="No PVC packaging", product=product
    )
    c = RequirementFactory(created_by=other_staff, customer=None, title="Gamma", type="regulatory", priority="critical")
    services.requirement_submit(requirement_id=a.pk, actor=staff)

    def titles(**params) -> list[str]:
        response = clients["auditor"].get("/requirements/", params)
        assert response.status_code == 200
        return [r.title for r in response.context["object_list"]]

    assert titles(customer=customer.pk) == [a.title]
    assert titles(customer="null") == [c.title]
    assert titles(product=product.pk) == [b.title]
    assert titles(type="regulatory") == [c.title]
    assert titles(status="in_review") == [a.title]
    assert titles(owner=other_staff.pk) == [c.title]
    assert titles(priority="critical") == [c.title]
    assert titles(q="packaging", sort="title") == [a.title, b.title]
    assert titles(sort="-priority") == [c.title, b.title, a.title]
    assert titles(sort="title") == [a.title, b.title, c.title]


@pytest.mark.parametrize(
    "params",
    [
        {"status": "bogus"},
        {"customer": "abc"},
        {"customer": str(10**20)},
        {"owner": "999999"},
        {"q": "nul\x00"},
        {"sort": "password"},
        {"page": "999"},
    ],
)
def test_bad_filters_never_fail(clients, draft, params):
    response = clients["staff"].get("/requirements/", params)
    assert response.status_code in {200, 404}


def test_list_paginates(clients, staff, customer):
    for n in range(26):
        RequirementFactory(created_by=staff, customer=customer, title=f"R{n:02d}")
    first = clients["staff"].get("/requirements/", {"sort": "title"})
    assert [r.title for r in first.context["object_list"]] == [f"R{n:02d}" for n in range(25)]
    response = clients["staff"].get("/requirements/" + first.context["page_obj"].next_url)
    assert [r.title for r in response.context["object_list"]] == ["R25"]


@pytest.mark.parametrize("rows", [5, 40])
@pytest.mark.parametrize(
    ("url", "persona"),
    [("/requirements/", "auditor"), ("/requirements/", "staff"), ("/requirements/review-queue/", "quality_manager")],
)
def test_list_pages_run_a_bounded_number_of_queries(
    clients, staff, other_staff, django_assert_max_num_queries, rows, url, persona
):
    customers = [CustomerFactory(), CustomerFactory()]
    product = ProductFactory()
    for n in range(rows):
        requirement = RequirementFactory(
            created_by=staff if n % 2 else other_staff, customer=customers[n % 2] if n % 3 else None, product=product
        )
        services.requirement_submit(requirement_id=requirement.pk, actor=requirement.created_by)
    # Session, user, permissions, menu, count, page, filter choices: the same for 5 rows or 40.
    with django_assert_max_num_queries(12):
        response = clients[persona].get(url)
    assert response.status_code == 200
    assert len(response.context["object_list"]) == min(rows, 25)


@pytest.mark.parametrize("edits", [1, 8])
def test_detail_page_runs_a_bounded_number_of_queries(
    clients, make_requirement, staff, quality_manager, django_assert_max_num_queries, edits
):
    requirement = make_requirement(Status.ACCEPTED)
    for n in range(edits):
        services.requirement_request_change(requirement_id=requirement.pk, actor=quality_manager, reason=f"Change {n}")
        services.requirement_update(requirement_id=requirement.pk, actor=staff, title=f"Title {n}")
        services.requirement_submit(requirement_id=requirement.pk, actor=staff)
        services.requirement_review(
            requirement_id=requirement.pk, actor=quality_manager, decision="accept", can_meet=True
        )
    with django_assert_max_num_queries(14):
        response = clients["quality_manager"].get(f"/requirements/{requirement.pk}/")
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("persona", "visible", "hidden"),
    [
        ("quality_manager", ["Requirements", "Awaiting review"], []),
        ("staff", ["Requirements"], ["Awaiting review"]),
        ("auditor", ["Requirements"], ["Awaiting review"]),
    ],
)
def test_navigation_shows_requirements_to_every_role_and_the_queue_to_reviewers(clients, persona, visible, hidden):
    content = clients[persona].get("/").content.decode()
    for label in visible:
        assert f">{label}</a>" in content
    for label in hidden:
        assert f">{label}</a>" not in content


@pytest.mark.parametrize(
    "model", ["customerrequirement", "requirementversion", "requirementreview", "requirementchangerequest"]
)
def test_admin_is_read_only_for_superusers(make_requirement, model):
    from apps.accounts.models import User

    make_requirement(Status.CHANGE_REQUESTED)
    admin = Client()
    admin.force_login(User.objects.create_superuser("root@example.com", "x" * 16, full_name="Root"))
    assert admin.get(f"/admin/requirements/{model}/").status_code == 200
    assert admin.get(f"/admin/requirements/{model}/add/").status_code == 403
    assert admin.get(f"/admin/requirements/{model}/1/delete/").status_code == 403
