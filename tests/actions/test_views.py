import re

import pytest
from django.utils import timezone

from apps.actions import services
from apps.actions.models import ActionPlanItem, CorrectiveAction
from apps.audit.models import AuditEntry
from tests.actions.factories import ActionFactory, past

Status = CorrectiveAction.Status
LOGIN = "/accounts/login/"


def _main(html: str) -> str:
    return re.search(r"<main.*?</main>", html, re.S).group(0)


def _item(action, actor, owner=None, due=None):
    return services.plan_item_add(
        action_id=action.pk,
        actor=actor,
        description="Add buffer stock",
        owner=owner or action.owner,
        due_date=due or timezone.localdate(),
    )


# Role x outcome ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 200), ("staff", 200), ("other_staff", 200), ("auditor", 200), ("anonymous", 302)],
)
@pytest.mark.parametrize("page", ["list", "detail"])
def test_read_pages(clients, action, persona, expected, page):
    url = "/actions/" if page == "list" else f"/actions/{action.pk}/"
    response = clients[persona].get(url)
    assert response.status_code == expected
    if expected == 302:
        assert response["Location"].startswith(LOGIN)
    else:
        assert action.title in response.content.decode()


def test_unknown_action_is_404(clients, action):
    assert clients["staff"].get(f"/actions/{action.pk + 1000}/").status_code == 404


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 200), ("staff", 200), ("other_staff", 403), ("auditor", 403), ("anonymous", 302)],
)
@pytest.mark.parametrize("suffix", ["edit/", "implement/", "items/new/"])
def test_change_pages_for_the_owner_and_managers_only(clients, action, persona, expected, suffix):
    assert clients[persona].get(f"/actions/{action.pk}/{suffix}").status_code == expected


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 200), ("staff", 403), ("other_staff", 403), ("auditor", 403), ("anonymous", 302)],
)
def test_verify_page_for_verifiers_only(clients, make_action, persona, expected):
    action = make_action(Status.IMPLEMENTED)
    assert clients[persona].get(f"/actions/{action.pk}/verify/").status_code == expected


@pytest.mark.parametrize(("persona", "expected"), [("quality_manager", 200), ("staff", 200), ("auditor", 403)])
def test_create_page(clients, persona, expected):
    assert clients[persona].get("/actions/new/").status_code == expected


def test_auditor_sees_no_forms_and_every_write_is_403(clients, make_action, staff):
    action = make_action(Status.IN_PROGRESS)
    item = _item(action, staff)
    html = _main(clients["auditor"].get(f"/actions/{action.pk}/").content.decode())
    assert "<form" not in html
    assert "/edit/" not in html
    posts = [
        "/actions/new/",
        f"/actions/{action.pk}/edit/",
        f"/actions/{action.pk}/start/",
        f"/actions/{action.pk}/implement/",
        f"/actions/{action.pk}/verify/",
        f"/actions/{action.pk}/reopen/",
        f"/actions/{action.pk}/items/new/",
        f"/actions/{action.pk}/items/{item.pk}/done/",
    ]
    before = AuditEntry.objects.count()
    for url in posts:
        assert clients["auditor"].post(url, {"reason": "x", "title": "x"}).status_code == 403, url
    assert AuditEntry.objects.count() == before


def test_list_filters_search_and_overdue(clients, make_action, staff, other_staff):
    late = make_action(Status.IN_PROGRESS, title="Late labels")
    _item(late, staff, due=past(2))
    make_action(Status.OPEN, title="Wrong torque", owner=other_staff)
    done = make_action(Status.VERIFIED_EFFECTIVE, title="Scratched housings")
    client = clients["quality_manager"]

    def titles(query):
        return {a.title for a in client.get(f"/actions/?{query}").context["object_list"]}

    assert titles("overdue=true") == {"Late labels"}
    assert titles("status=verified_effective") == {"Scratched housings"}
    assert titles(f"owner={other_staff.pk}") == {"Wrong torque"}
    assert titles(f"q={done.reference}") == {"Scratched housings"}
    assert "Overdue" in client.get("/actions/").content.decode()


@pytest.mark.parametrize("rows", [5, 40])
def test_list_page_runs_a_bounded_number_of_queries(clients, staff, other_staff, django_assert_max_num_queries, rows):
    for n in range(rows):
        owner = staff if n % 2 else other_staff
        action = ActionFactory(actor=owner, owner=owner)
        if n % 3 == 0:
            _item(action, owner, due=past(1))
    # Session, user, permissions, menu, count, page, filter choices: the same for 5 rows or 40.
    with django_assert_max_num_queries(12):
        response = clients["auditor"].get("/actions/")
    assert response.status_code == 200
    assert len(response.context["object_list"]) == min(rows, 25)


@pytest.mark.parametrize("items", [1, 10])
def test_detail_page_runs_a_bounded_number_of_queries(clients, action, staff, django_assert_max_num_queries, items):
    for _ in range(items):
        _item(action, staff)
    with django_assert_max_num_queries(16):
        assert clients["staff"].get(f"/actions/{action.pk}/").status_code == 200


# The workflow through the pages ----------------------------------------------------------------


def test_owner_sees_step_forms_and_other_staff_does_not(clients, action):
    mine = _main(clients["staff"].get(f"/actions/{action.pk}/").content.decode())
    assert f"/actions/{action.pk}/start/" in mine
    assert f"/actions/{action.pk}/items/new/" in mine
    theirs = _main(clients["other_staff"].get(f"/actions/{action.pk}/").content.decode())
    assert "<form" not in theirs


def test_raise_through_the_page(clients, staff):
    response = clients["staff"].post(
        "/actions/new/", {"title": "Dented boxes", "nonconformity": "Boxes arrive dented", "owner": staff.pk}
    )
    action = CorrectiveAction.objects.get(title="Dented boxes")
    assert response.status_code == 302
    assert response["Location"] == f"/actions/{action.pk}/"
    assert action.created_by == staff


def test_full_workflow_through_the_pages(clients, action, staff, quality_manager):
    client = clients["staff"]
    assert client.post(f"/actions/{action.pk}/start/", {"reason": ""}).status_code == 302
    today = timezone.localdate().isoformat()
    client.post(f"/actions/{action.pk}/items/new/", {"description": "Buffer", "owner": staff.pk, "due_date": today})
    item = ActionPlanItem.objects.get(action=action)
    # Gate: no root cause yet, so the step is refused with the reason on the form.
    response = client.post(f"/actions/{action.pk}/implement/", {"effectiveness_check_date": today})
    assert response.status_code == 200
    assert "root-cause" in response.content.decode()
    client.post(
        f"/actions/{action.pk}/edit/",
        {
            "title": action.title,
            "nonconformity": action.nonconformity,
            "containment": "",
            "root_cause_method": "five_whys",
            "root_cause": "No buffer stock",
            "effectiveness_check_date": "",
        },
    )
    assert client.post(f"/actions/{action.pk}/items/{item.pk}/done/").status_code == 302
    assert client.post(f"/actions/{action.pk}/implement/", {"effectiveness_check_date": today}).status_code == 302
    assert (
        clients["quality_manager"]
        .post(f"/actions/{action.pk}/verify/", {"effective": "yes", "evidence": "No late shipment"})
        .status_code
        == 302
    )
    action.refresh_from_db()
    assert (action.status, action.root_cause, action.verifier) == (
        Status.VERIFIED_EFFECTIVE,
        "No buffer stock",
        quality_manager,
    )


def test_staff_cannot_mark_someone_elses_item_done(clients, action, staff, other_staff):
    item = _item(action, staff, owner=staff)
    assert clients["other_staff"].post(f"/actions/{action.pk}/items/{item.pk}/done/").status_code == 403
    assert not ActionPlanItem.objects.get(pk=item.pk).is_done


def test_owner_who_verifies_gets_403(clients, make_action, quality_manager):
    action = make_action(Status.IMPLEMENTED, owner=quality_manager)
    response = clients["quality_manager"].post(f"/actions/{action.pk}/verify/", {"effective": "yes", "evidence": "x"})
    assert response.status_code == 403
    assert "four eyes" in clients["quality_manager"].get(f"/actions/{action.pk}/").content.decode()


def test_source_link_and_effectiveness_panel(clients, staff):
    from apps.actions import sources
    from tests.customers.factories import CustomerFactory

    customer = CustomerFactory(name="Acme Components")
    action = services.action_raise(source=customer, title="T", nonconformity="N", actor=staff)
    sources.register_effectiveness(
        "customers.customer", lambda src, act: {"label": "Complaints", "before": 5, "after": 1, "window_days": 90}
    )
    try:
        html = _main(clients["staff"].get(f"/actions/{action.pk}/").content.decode())
    finally:
        sources._effectiveness.pop("customers.customer")
    assert 'data-testid="effectiveness"' in html
    assert "90 days before" in html
    if hasattr(customer, "get_absolute_url"):
        assert customer.get_absolute_url() in html


@pytest.mark.parametrize(("persona", "visible"), [("quality_manager", True), ("staff", True), ("auditor", True)])
def test_navigation_entry(clients, persona, visible):
    html = clients[persona].get("/actions/").content.decode()
    assert ('href="/actions/"' in html) is visible
