"""History and audit pages name what an entry's ids point at, resolved when shown (#24).

The trail keeps ids only (it never holds personal data); the pages look the names up in
bulk, mask a contact's name for a viewer without the personal-data permission, and say
plainly when the record pointed at is gone or erased.
"""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.audit import services as audit
from apps.audit.models import AuditEntry
from apps.customers import services as customers
from tests.complaints.factories import make_complaint
from tests.customers.factories import ContactFactory
from tests.factories import UserFactory


def _changes_cells(html: str) -> list[str]:
    cells = re.findall(r'<td class="history-changes">(.*?)</td>', html, re.S)
    return [re.sub(r"\s+", " ", cell).strip() for cell in cells]


@pytest.fixture
def assigned(quality_manager, staff):
    return make_complaint(assignee=staff, qm=quality_manager)


@pytest.mark.parametrize("persona", ["quality_manager", "auditor"])
def test_audit_trail_names_the_assignee_instead_of_its_id(clients, assigned, staff, persona):
    response = clients[persona].get("/audit/")

    assert "assignee: — → Sasha Staff" in _changes_cells(response.content.decode())


def test_record_history_names_the_assignee(clients, assigned, staff):
    response = clients["quality_manager"].get(reverse("complaints:complaint_detail", args=[assigned.pk]))

    assert "assignee: — → Sasha Staff" in _changes_cells(response.content.decode())


def test_the_trail_itself_still_holds_only_the_id(assigned, staff):
    entry = AuditEntry.objects.for_object(assigned).filter(changes__has_key="assignee").get()
    assert entry.changes == {"assignee": [None, staff.pk]}
    assert audit.verify_chain().ok


@pytest.fixture
def contact_change(quality_manager):
    complaint = make_complaint()
    contact = ContactFactory(name="Philippa Maskworthy")
    audit.record(
        actor=quality_manager,
        action=AuditEntry.Action.UPDATE,
        obj=complaint,
        changes={"contact": [None, contact.pk]},
    )
    return complaint, contact


@pytest.mark.parametrize(
    ("persona", "shown", "hidden"),
    [("quality_manager", "Philippa Maskworthy", None), ("auditor", "Contact #{pk}", "Philippa Maskworthy")],
)
def test_contact_names_follow_the_personal_data_permission(clients, contact_change, persona, shown, hidden):
    _complaint, contact = contact_change

    html = clients[persona].get("/audit/").content.decode()

    assert f"contact: — → {shown.format(pk=contact.pk)}" in _changes_cells(html)
    if hidden:
        assert hidden not in html


def test_an_erased_contact_reads_erased(clients, contact_change, quality_manager):
    _complaint, contact = contact_change
    customers.contact_erase(contact_id=contact.pk, actor=quality_manager, reason="Subject asked")

    cells = _changes_cells(clients["quality_manager"].get("/audit/").content.decode())

    assert f"contact: — → Contact #{contact.pk} (erased)" in cells


def test_a_deleted_target_reads_deleted(clients, quality_manager):
    complaint = make_complaint()
    audit.record(
        actor=quality_manager, action=AuditEntry.Action.UPDATE, obj=complaint, changes={"category": [None, 987654]}
    )

    cells = _changes_cells(clients["quality_manager"].get("/audit/").content.decode())

    assert "category: — → complaint category #987654 (deleted)" in cells


def _record_changes(complaint, actor, count: int, offset: int = 0) -> None:
    for n in range(offset, offset + count):
        handler = UserFactory(full_name=f"Handler {n:02d}", role="staff")
        contact = ContactFactory(name=f"Person {n:02d}")
        audit.record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            obj=complaint,
            changes={"assignee": [None, handler.pk], "contact": [None, contact.pk]},
        )


def _queries(client, url: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        html = client.get(url).content.decode()
    return len(queries), html


@pytest.mark.parametrize("page", ["trail", "record"])
def test_names_are_looked_up_once_per_model_not_per_row(clients, quality_manager, page, django_assert_max_num_queries):
    complaint = make_complaint()
    url = "/audit/" if page == "trail" else reverse("complaints:complaint_detail", args=[complaint.pk])
    client = clients["quality_manager"]
    _record_changes(complaint, quality_manager, 2)
    client.get(url)  # warm per-session caches
    few, _html = _queries(client, url)

    _record_changes(complaint, quality_manager, 38, offset=2)
    with django_assert_max_num_queries(few):
        many, html = _queries(client, url)

    assert many == few
    assert "assignee: — → Handler 39" in " ".join(_changes_cells(html))
