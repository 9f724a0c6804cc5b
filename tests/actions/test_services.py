import re
import threading
from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.utils import timezone

from apps.actions import selectors, services, sources
from apps.actions.models import ActionPlanItem, CorrectiveAction
from apps.audit.models import AuditEntry
from apps.core.exceptions import BusinessRuleViolation, InvalidTransition
from tests.actions.factories import ActionFactory, past
from tests.customers.factories import CustomerFactory

Status = CorrectiveAction.Status


def _add_item(action, actor, *, owner=None, due=None):
    return services.plan_item_add(
        action_id=action.pk,
        actor=actor,
        description="Train the dispatch team",
        owner=owner or action.owner,
        due_date=due or timezone.localdate(),
    )


# Raising ---------------------------------------------------------------------------------


def test_raise_numbers_per_year_and_writes_the_audit_entry(staff):
    first = ActionFactory(actor=staff)
    second = ActionFactory(actor=staff)
    year = timezone.localdate().year
    assert re.fullmatch(rf"ACT-{year}-\d{{5}}", first.reference)
    assert int(second.reference[-5:]) == int(first.reference[-5:]) + 1
    assert first.owner == staff
    assert first.status == Status.OPEN
    entry = AuditEntry.objects.for_object(first).get()
    assert entry.action == AuditEntry.Action.CREATE
    assert entry.changes["reference"] == [None, first.reference]


def test_raise_links_the_source_and_for_source_finds_it(staff):
    customer = CustomerFactory(name="Acme Components")
    linked = services.action_raise(source=customer, title="T", nonconformity="N", actor=staff)
    ActionFactory(actor=staff)  # unlinked
    assert linked.source_content_type == ContentType.objects.get_for_model(customer)
    assert linked.source_object_id == str(customer.pk)
    assert linked.source_label
    assert CorrectiveAction.objects.get(pk=linked.pk).source == customer
    assert list(selectors.for_source(customer)) == [linked]
    assert "source" in AuditEntry.objects.for_object(linked).get().changes


@pytest.mark.parametrize(("title", "nonconformity"), [("", "N"), ("T", "  ")])
def test_raise_refuses_missing_text(staff, title, nonconformity):
    with pytest.raises(BusinessRuleViolation):
        services.action_raise(source=None, title=title, nonconformity=nonconformity, actor=staff)


def test_auditor_cannot_raise_nor_own(auditor, staff):
    with pytest.raises(PermissionDenied):
        services.action_raise(source=None, title="T", nonconformity="N", actor=auditor)
    with pytest.raises(BusinessRuleViolation):
        services.action_raise(source=None, title="T", nonconformity="N", actor=staff, owner=auditor)


@pytest.mark.django_db(transaction=True)
def test_concurrent_raises_get_distinct_references(staff):
    results, errors = [], []
    barrier = threading.Barrier(2)

    def raise_one(n):
        try:
            barrier.wait(timeout=10)
            results.append(ActionFactory(actor=staff, title=f"Concurrent {n}").reference)
        except Exception as error:  # collected and asserted below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=raise_one, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(set(results)) == 2
    assert CorrectiveAction.objects.count() == 2


# Transitions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "step", "allowed"),
    [
        (Status.OPEN, "start", True),
        (Status.IN_PROGRESS, "start", False),
        (Status.OPEN, "implement", False),
        (Status.IN_PROGRESS, "implement", True),
        (Status.IMPLEMENTED, "verify", True),
        (Status.IN_PROGRESS, "verify", False),
        (Status.VERIFIED_EFFECTIVE, "verify", False),
        (Status.NOT_EFFECTIVE, "reopen", True),
        (Status.IMPLEMENTED, "reopen", False),
        (Status.VERIFIED_EFFECTIVE, "reopen", False),
    ],
)
def test_transitions(make_action, staff, quality_manager, status, step, allowed):
    action = make_action(status)
    if step == "implement" and status == Status.IN_PROGRESS:
        services.action_update(action_id=action.pk, actor=staff, root_cause="No buffer")
        item = _add_item(action, staff)
        services.plan_item_complete(item_id=item.pk, actor=staff)
    calls = {
        "start": lambda: services.action_start(action_id=action.pk, actor=staff),
        "implement": lambda: services.action_implement(action_id=action.pk, actor=staff),
        "verify": lambda: services.action_verify(
            action_id=action.pk, actor=quality_manager, effective=True, evidence="Checked"
        ),
        "reopen": lambda: services.action_reopen(action_id=action.pk, actor=staff, reason="Recurred"),
    }
    before = AuditEntry.objects.count()
    if allowed:
        result = calls[step]()
        entry = AuditEntry.objects.for_object(result).order_by("-seq").first()
        assert entry.action == AuditEntry.Action.TRANSITION
        assert entry.changes["status"][0] == status
    else:
        with pytest.raises(InvalidTransition):
            calls[step]()
        assert AuditEntry.objects.count() == before


def test_reopen_starts_a_new_round_and_needs_a_reason(make_action, staff):
    action = make_action(Status.NOT_EFFECTIVE)
    with pytest.raises(BusinessRuleViolation):
        services.action_reopen(action_id=action.pk, actor=staff, reason=" ")
    reopened = services.action_reopen(action_id=action.pk, actor=staff, reason="Late again in May")
    assert (reopened.status, reopened.round) == (Status.IN_PROGRESS, 2)
    entry = AuditEntry.objects.for_object(reopened).order_by("-seq").first()
    assert entry.reason == "Late again in May"
    assert entry.changes["round"] == [1, 2]
    # The old round's done items do not count: the new round needs its own plan.
    with pytest.raises(BusinessRuleViolation, match="at least one"):
        services.action_implement(action_id=action.pk, actor=staff)


# Stage gates ----------------------------------------------------------------------------------


@pytest.fixture
def in_progress(make_action):
    return make_action(Status.IN_PROGRESS)


def test_implement_needs_a_root_cause(in_progress, staff):
    item = _add_item(in_progress, staff)
    services.plan_item_complete(item_id=item.pk, actor=staff)
    with pytest.raises(BusinessRuleViolation, match="root-cause"):
        services.action_implement(action_id=in_progress.pk, actor=staff)


def test_implement_needs_a_plan_item(in_progress, staff):
    services.action_update(action_id=in_progress.pk, actor=staff, root_cause="No buffer")
    with pytest.raises(BusinessRuleViolation, match="at least one"):
        services.action_implement(action_id=in_progress.pk, actor=staff)


def test_implement_needs_every_item_done(in_progress, staff):
    services.action_update(action_id=in_progress.pk, actor=staff, root_cause="No buffer")
    done = _add_item(in_progress, staff)
    _add_item(in_progress, staff)
    services.plan_item_complete(item_id=done.pk, actor=staff)
    with pytest.raises(BusinessRuleViolation, match="done"):
        services.action_implement(action_id=in_progress.pk, actor=staff)
    assert CorrectiveAction.objects.get(pk=in_progress.pk).status == Status.IN_PROGRESS


def test_implement_sets_a_default_check_date(in_progress, staff, settings):
    settings.ACTIONS_EFFECTIVENESS_DAYS = 60
    services.action_update(action_id=in_progress.pk, actor=staff, root_cause="No buffer")
    services.plan_item_complete(item_id=_add_item(in_progress, staff).pk, actor=staff)
    implemented = services.action_implement(action_id=in_progress.pk, actor=staff)
    assert implemented.effectiveness_check_date == timezone.localdate() + timedelta(days=60)


def test_verify_waits_for_the_check_date(make_action, staff, quality_manager):
    action = make_action(Status.IN_PROGRESS)
    services.action_update(action_id=action.pk, actor=staff, root_cause="No buffer")
    services.plan_item_complete(item_id=_add_item(action, staff).pk, actor=staff)
    services.action_implement(
        action_id=action.pk, actor=staff, effectiveness_check_date=timezone.localdate() + timedelta(days=1)
    )
    with pytest.raises(BusinessRuleViolation, match="due on"):
        services.action_verify(action_id=action.pk, actor=quality_manager, effective=True, evidence="Checked")


def test_verify_needs_evidence(make_action, quality_manager):
    action = make_action(Status.IMPLEMENTED)
    with pytest.raises(BusinessRuleViolation):
        services.action_verify(action_id=action.pk, actor=quality_manager, effective=True, evidence="")


def test_four_eyes_owner_may_not_verify(make_action, quality_manager):
    action = make_action(Status.IMPLEMENTED, owner=quality_manager)
    with pytest.raises(BusinessRuleViolation, match="Four eyes"):
        services.action_verify(action_id=action.pk, actor=quality_manager, effective=True, evidence="Checked")


@pytest.mark.parametrize("persona", ["staff", "other_staff", "auditor"])
def test_only_verifiers_verify(make_action, personas, persona):
    action = make_action(Status.IMPLEMENTED)
    with pytest.raises(PermissionDenied):
        services.action_verify(action_id=action.pk, actor=personas[persona], effective=True, evidence="Checked")


def test_verify_records_verifier_and_evidence(make_action, quality_manager):
    action = make_action(Status.IMPLEMENTED)
    verified = services.action_verify(action_id=action.pk, actor=quality_manager, effective=False, evidence="Recurred")
    assert (verified.status, verified.verifier, verified.verification_evidence) == (
        Status.NOT_EFFECTIVE,
        quality_manager,
        "Recurred",
    )
    entry = AuditEntry.objects.for_object(verified).order_by("-seq").first()
    assert entry.changes["effective"] == [None, False]
    assert entry.reason == "Recurred"


# Object rules -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "allowed"), [("staff", True), ("quality_manager", True), ("other_staff", False), ("auditor", False)]
)
def test_who_may_work_on_an_action(action, personas, persona, allowed):
    if allowed:
        assert services.action_start(action_id=action.pk, actor=personas[persona]).status == Status.IN_PROGRESS
    else:
        with pytest.raises(PermissionDenied):
            services.action_start(action_id=action.pk, actor=personas[persona])


def test_plan_item_owner_may_work_on_the_action(action, staff, other_staff):
    _add_item(action, staff, owner=other_staff)
    assert services.action_start(action_id=action.pk, actor=other_staff).status == Status.IN_PROGRESS


@pytest.mark.parametrize(
    ("persona", "allowed"), [("other_staff", True), ("quality_manager", True), ("staff", False), ("auditor", False)]
)
def test_staff_mark_done_only_their_own_items(action, staff, other_staff, personas, persona, allowed):
    item = _add_item(action, staff, owner=other_staff)
    if allowed:
        assert services.plan_item_complete(item_id=item.pk, actor=personas[persona]).is_done
        entry = AuditEntry.objects.for_object(item).order_by("-seq").first()
        assert entry.action == AuditEntry.Action.UPDATE
        assert "done_at" in entry.changes
    else:
        with pytest.raises(PermissionDenied):
            services.plan_item_complete(item_id=item.pk, actor=personas[persona])


def test_item_cannot_be_done_twice(action, staff):
    item = _add_item(action, staff)
    services.plan_item_complete(item_id=item.pk, actor=staff)
    with pytest.raises(BusinessRuleViolation):
        services.plan_item_complete(item_id=item.pk, actor=staff)


def test_no_plan_items_once_implemented(make_action, staff):
    action = make_action(Status.IMPLEMENTED)
    with pytest.raises(BusinessRuleViolation):
        _add_item(action, staff)


def test_only_a_quality_manager_reassigns(action, staff, other_staff, quality_manager):
    with pytest.raises(PermissionDenied):
        services.action_update(action_id=action.pk, actor=staff, owner=other_staff)
    updated = services.action_update(action_id=action.pk, actor=quality_manager, owner=other_staff, reason="Holiday")
    assert updated.owner == other_staff
    entry = AuditEntry.objects.for_object(updated).order_by("-seq").first()
    assert entry.changes == {"owner": [staff.pk, other_staff.pk]}
    assert entry.reason == "Holiday"


def test_verified_action_is_frozen(make_action, staff):
    action = make_action(Status.VERIFIED_EFFECTIVE)
    with pytest.raises(BusinessRuleViolation):
        services.action_update(action_id=action.pk, actor=staff, title="Changed")


def test_bulk_writes_are_refused(action):
    with pytest.raises(TypeError):
        CorrectiveAction.objects.filter(pk=action.pk).update(title="x")


# Effectiveness registry ---------------------------------------------------------------------------


def test_effectiveness_provider_is_used_for_its_model(staff):
    customer = CustomerFactory()
    linked = services.action_raise(source=customer, title="T", nonconformity="N", actor=staff)
    manual = ActionFactory(actor=staff)
    calls = []

    def provider(source, action):
        calls.append((source, action))
        return {"label": "Complaints, same category", "before": 7, "after": 1, "window_days": 90}

    sources.register_effectiveness("customers.Customer", provider)
    try:
        figures = sources.effectiveness_for(CorrectiveAction.objects.get(pk=linked.pk))
        assert figures == {"label": "Complaints, same category", "before": 7, "after": 1, "window_days": 90}
        assert calls == [(customer, linked)]
        assert sources.effectiveness_for(manual) is None
    finally:
        sources._effectiveness.pop("customers.customer")


def test_overdue_queryset(action, staff):
    _add_item(action, staff, due=past(2))
    assert list(CorrectiveAction.objects.overdue()) == [action]
    assert list(ActionPlanItem.objects.overdue()) == list(action.plan_items.all())
