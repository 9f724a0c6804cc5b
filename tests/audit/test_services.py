import json
import threading
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections, transaction
from django.db.utils import InternalError, ProgrammingError
from hypothesis import given
from hypothesis import strategies as st

from apps.accounts.models import User
from apps.audit import services as audit
from apps.audit.models import AuditBypassError, AuditEntry
from tests.database_roles import as_owner
from tests.factories import UserFactory


def _record(user, **kwargs):
    return audit.record(actor=user, action=AuditEntry.Action.UPDATE, obj=user, **kwargs)


@pytest.mark.django_db
def test_entries_form_a_chain_from_genesis(quality_manager):
    first = _record(quality_manager, changes={"full_name": ["A", "B"]})
    second = _record(quality_manager, reason="typo")
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == AuditEntry.GENESIS_HASH
    assert second.prev_hash == first.hash
    assert audit.verify_chain() == audit.VerificationResult(ok=True, verified=2)


@pytest.mark.django_db
def test_hash_survives_the_round_trip_through_postgres(quality_manager):
    from decimal import Decimal

    entry = _record(
        quality_manager, changes={"score": [Decimal("1.50"), 7], "when": [None, quality_manager.date_joined]}
    )
    stored = AuditEntry.objects.get(pk=entry.pk)
    assert audit.entry_hash(stored) == entry.hash


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@given(
    fields=st.fixed_dictionaries(
        {
            "actor_kind": st.sampled_from(["user", "public", "system"]),
            "actor_id": st.none() | st.integers(min_value=1),
            "action": st.text(max_size=20),
            "record_type": st.text(max_size=40),
            "object_id": st.text(max_size=20),
            "object_label": st.text(max_size=40),
            "changes": st.dictionaries(st.text(max_size=10), JSON_VALUES, max_size=4),
            "reason": st.text(),
        }
    ),
    seq=st.integers(min_value=1, max_value=2**62),
    created_at=st.datetimes(timezones=st.just(UTC)),
    prev_hash=st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
)
def test_the_canonical_form_is_the_sorted_compact_json_of_every_field(fields, seq, created_at, prev_hash):
    # Chains written before the append moved into the database must still verify: the
    # fragments audit_append() joins are exactly this JSON, whatever the text holds.
    plain = {
        **fields,
        "seq": seq,
        "created_at": created_at.isoformat(timespec="microseconds"),
        "prev_hash": prev_hash,
    }
    expected = json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert audit.canonical_bytes(seq=seq, created_at=created_at, prev_hash=prev_hash, **fields) == expected


@pytest.mark.django_db
def test_the_database_hashes_what_python_verifies_for_any_text(quality_manager):
    hostile = 'quote " backslash \\ newline \n tab \t nul-ish \u0001 emoji \U0001f600 accent é }{'
    entry = _record(quality_manager, changes={hostile: [hostile, {"k": [1, 2.5, None]}]}, reason=hostile)
    stored = AuditEntry.objects.get(pk=entry.pk)
    assert (stored.seq, stored.hash, stored.created_at) == (entry.seq, entry.hash, entry.created_at)
    assert audit.entry_hash(stored) == stored.hash  # what verification recomputes in Python
    assert audit.verify_chain().ok


@pytest.mark.django_db
def test_entries_are_timed_in_chain_order(quality_manager):
    started = datetime.now(UTC)
    entries = [_record(quality_manager) for _ in range(5)]
    times = [entry.created_at for entry in entries]
    assert times == sorted(times)
    assert started <= times[0] <= times[-1] <= datetime.now(UTC)


@pytest.mark.django_db
def test_personal_fields_are_never_stored_in_clear(quality_manager):
    entry = _record(
        quality_manager, changes={"email": ["old@example.com", "new@example.com"], "is_active": [True, False]}
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT changes::text, object_label FROM audit_auditentry WHERE id = %s", [entry.pk])
        raw_changes, label = cursor.fetchone()
    assert "example.com" not in raw_changes
    assert "example.com" not in label
    assert entry.changes["email"] == [audit.PERSONAL_DATA_MARK, audit.PERSONAL_DATA_MARK]
    assert entry.changes["is_active"] == [True, False]


@pytest.mark.django_db
def test_entry_rolls_back_with_the_change(quality_manager):
    def failing_change():
        with transaction.atomic():
            _record(quality_manager)
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        failing_change()
    assert not AuditEntry.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditentry SET reason = 'rewritten'",
        "DELETE FROM audit_auditentry",
    ],
)
def test_postgres_refuses_to_change_entries_even_to_the_owner(quality_manager, statement):
    _record(quality_manager)
    # The application role lacks the privilege (tests/audit/test_app_role.py); the trigger
    # stops the table's owner too, unless they switch it off (which verification then catches).
    with (
        as_owner(),
        pytest.raises((InternalError, ProgrammingError), match="append-only"),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)


@pytest.mark.django_db
def test_postgres_refuses_truncate_without_the_maintenance_setting(quality_manager):
    _record(quality_manager)
    with connection.cursor() as cursor:
        # Deferred foreign-key checks from the insert would block TRUNCATE for another reason.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL qms.allow_audit_truncate = off")
        with pytest.raises((InternalError, ProgrammingError), match="append-only"):
            cursor.execute("TRUNCATE audit_auditentry CASCADE")


@pytest.mark.django_db
def test_queryset_refuses_bulk_writes(quality_manager):
    _record(quality_manager)
    with pytest.raises(TypeError):
        AuditEntry.objects.all().update(reason="x")
    with pytest.raises(TypeError):
        AuditEntry.objects.all().delete()


@pytest.mark.django_db
def test_audited_models_refuse_bulk_writes_that_would_escape_the_trail(staff):
    with pytest.raises(AuditBypassError):
        User.objects.filter(pk=staff.pk).update(full_name="Silent change")
    with pytest.raises(AuditBypassError):
        User.objects.filter(pk=staff.pk).delete()
    with pytest.raises(AuditBypassError):
        User.objects.bulk_update([staff], ["full_name"])
    staff.refresh_from_db()
    assert staff.full_name == "Sasha Staff"


def _tamper(sql: str, params: list) -> None:
    """Change the table behind the application's back, as a database owner could."""
    with as_owner(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_no_update_delete")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_entry_no_update_delete")


@pytest.mark.django_db
def test_verification_names_an_edited_entry(quality_manager):
    entries = [_record(quality_manager, reason=f"step {n}") for n in range(5)]
    _tamper("UPDATE audit_auditentry SET reason = 'nothing happened' WHERE id = %s", [entries[2].pk])
    result = audit.verify_chain()
    assert not result.ok
    assert result.first_bad_seq == 3
    assert result.verified == 2
    assert "altered" in result.problem


@pytest.mark.django_db
def test_verification_names_a_removed_entry(quality_manager):
    entries = [_record(quality_manager) for _ in range(4)]
    _tamper("DELETE FROM audit_auditentry WHERE id = %s", [entries[1].pk])
    result = audit.verify_chain()
    assert (result.ok, result.first_bad_seq) == (False, 2)
    assert "missing" in result.problem


@pytest.mark.django_db
def test_verification_catches_a_recomputed_hash_that_breaks_the_link(quality_manager):
    entries = [_record(quality_manager) for _ in range(3)]
    forged = AuditEntry.objects.get(pk=entries[1].pk)
    forged.reason = "forged"
    new_hash = audit.entry_hash(forged)
    _tamper("UPDATE audit_auditentry SET reason = 'forged', hash = %s WHERE id = %s", [new_hash, forged.pk])
    result = audit.verify_chain()
    assert (result.ok, result.first_bad_seq) == (False, 3)


@pytest.mark.django_db
def test_command_exits_zero_with_the_count_when_intact(quality_manager, capsys):
    for _ in range(3):
        _record(quality_manager)
    call_command("verify_audit_trail")
    assert "3 entries verified" in capsys.readouterr().out


@pytest.mark.django_db
def test_command_fails_naming_the_first_broken_entry(quality_manager):
    entries = [_record(quality_manager) for _ in range(3)]
    _tamper("UPDATE audit_auditentry SET action = 'delete' WHERE id = %s", [entries[0].pk])
    with pytest.raises(CommandError, match=r"BROKEN at entry #1"):
        call_command("verify_audit_trail")


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_fork_the_chain():
    """Two transactions append at once: the advisory lock makes the second wait for the first."""
    user = UserFactory()
    first_holds_lock = threading.Event()
    release_first = threading.Event()
    errors: list[BaseException] = []

    def writer(hold: bool) -> None:
        try:
            with transaction.atomic():
                _record(user, reason="first" if hold else "second")
                if hold:
                    first_holds_lock.set()
                    release_first.wait(10)
        except BaseException as error:  # reported to the main thread below
            errors.append(error)
        finally:
            connections.close_all()

    holder = threading.Thread(target=writer, args=(True,))
    holder.start()
    assert first_holds_lock.wait(10)
    follower = threading.Thread(target=writer, args=(False,))
    follower.start()
    follower.join(0.5)
    # The second writer is blocked on the chain lock while the first is still open.
    assert follower.is_alive()
    release_first.set()
    holder.join(10)
    follower.join(10)
    assert not errors
    entries = list(AuditEntry.objects.order_by("seq"))
    assert [e.reason for e in entries] == ["first", "second"]
    assert entries[1].prev_hash == entries[0].hash
    assert audit.verify_chain().ok


@pytest.mark.django_db(transaction=True)
def test_many_concurrent_writers_keep_one_chain():
    user = UserFactory()

    def writer(n: int) -> None:
        try:
            for _ in range(5):
                with transaction.atomic():
                    _record(user, reason=f"writer {n}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert AuditEntry.objects.count() == 30
    assert audit.verify_chain() == audit.VerificationResult(ok=True, verified=30)
