"""Audit-trail integrity under load and against every single-step tampering (ISO 9001 7.5)."""

import json
import threading
from datetime import timedelta

import pytest
from django.db import connections, transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from apps.audit import checkpoints
from apps.audit import services as audit
from apps.audit.models import AuditEntry
from tests.audit.test_services import _record, _tamper
from tests.database_roles import as_owner
from tests.factories import UserFactory

CHAIN_LENGTH = 12
CHECKPOINTED = (CHAIN_LENGTH // 2, CHAIN_LENGTH)  # the chain head signed twice, as hourly jobs would
# Every stored column of an entry, with a value it cannot already hold.
FIELD_EDITS = {
    "created_at": "created_at + interval '1 second'",
    "actor_kind": "CASE WHEN actor_kind = 'system' THEN 'public' ELSE 'system' END",
    "actor_id": "",  # set to another user by _apply
    "action": "CASE WHEN action = 'delete' THEN 'create' ELSE 'delete' END",
    "object_id": "object_id || '0'",
    "object_label": "object_label || ' (edited)'",
    "changes": "'{\"forged\": [1, 2]}'::jsonb",
    "reason": "reason || ' and then some'",
    "prev_hash": "md5(prev_hash) || md5(prev_hash)",
    "hash": "md5(hash) || md5(hash)",
    "seq": "seq + 1000",
}


@pytest.fixture
def log(settings, tmp_path):
    settings.AUDIT_CHECKPOINT_PATH = str(tmp_path / "checkpoints.jsonl")


@pytest.mark.django_db(transaction=True)
def test_ten_thousand_events_from_twenty_concurrent_writers_keep_one_chain():
    user = UserFactory()
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for batch in range(25):
                with transaction.atomic():
                    for _ in range(20):
                        _record(user, reason=f"writer {n} batch {batch}")
        except BaseException as error:  # reported by the assertion below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    assert errors == []
    assert AuditEntry.objects.count() == 10_000
    assert list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True)) == list(range(1, 10_001))
    # No fork: every prev_hash is used by exactly one entry.
    assert AuditEntry.objects.values("prev_hash").distinct().count() == 10_000
    assert audit.verify_chain() == audit.VerificationResult(ok=True, verified=10_000)


def _edit(entry_id: int, field: str) -> None:
    _tamper(f"UPDATE audit_auditentry SET {field} = {FIELD_EDITS[field]} WHERE id = %s", [entry_id])  # noqa: S608


def _apply(mutation: tuple, ids: dict) -> int:
    """Tamper with the chain; returns the sequence number verification must name."""
    kind = mutation[0]
    if kind == "edit":
        _kind, seq, field = mutation
        if field == "actor_id":
            _tamper("UPDATE audit_auditentry SET actor_id = %s WHERE id = %s", [ids["other_user"], ids[seq]])
        else:
            _edit(ids[seq], field)
        return seq
    if kind == "delete":
        _kind, seq = mutation
        _tamper("DELETE FROM audit_auditentry WHERE id = %s", [ids[seq]])
        return seq  # a gap, or for the last entry the head the checkpoint vouches for
    if kind == "swap":
        _kind, first, second = mutation
        _tamper("UPDATE audit_auditentry SET seq = seq + 100000 WHERE id IN (%s, %s)", [ids[first], ids[second]])
        _tamper("UPDATE audit_auditentry SET seq = %s WHERE id = %s", [second, ids[first]])
        _tamper("UPDATE audit_auditentry SET seq = %s WHERE id = %s", [first, ids[second]])
        return first
    if kind == "insert":
        _kind, seq = mutation
        # A well-formed entry slipped in at `seq`: it links to its predecessor and its hash is
        # right, so the break shows at the next entry, which no longer links to it.
        _tamper("UPDATE audit_auditentry SET seq = seq + 1000 WHERE seq >= %s", [seq])
        _tamper("UPDATE audit_auditentry SET seq = seq - 999 WHERE seq >= 1000", [])
        template = AuditEntry.objects.get(seq=seq + 1)
        previous = AuditEntry.objects.get(seq=seq - 1).hash if seq > 1 else AuditEntry.GENESIS_HASH
        _forge(template, seq=seq, created_at=template.created_at, prev_hash=previous, reason="inserted")
        if seq in CHECKPOINTED:
            # At a checkpointed position the forged entry itself contradicts the signature;
            # the tampering lies after the previous checkpoint, which is as exact as the log allows.
            return max((c for c in CHECKPOINTED if c < seq), default=0) + 1
        return seq + 1
    _kind, keep = mutation  # truncate: only the signed checkpoint can tell
    _tamper("DELETE FROM audit_auditentry WHERE seq > %s", [keep])
    return keep + 1


def _forge(template: AuditEntry, *, seq: int, created_at, prev_hash: str, reason: str) -> AuditEntry:
    """A well-formed entry with a correct hash, written as only the database owner could: the
    application role may not INSERT into the trail at all."""
    forged = AuditEntry(
        seq=seq,
        created_at=created_at,
        actor_kind=template.actor_kind,
        actor_id=template.actor_id,
        action=template.action,
        content_type_id=template.content_type_id,
        object_id=template.object_id,
        object_label="forged",
        changes={"forged": [1, 2]},
        reason=reason,
        prev_hash=prev_hash,
    )
    forged.hash = audit.entry_hash(forged)
    with as_owner():
        forged.save(force_insert=True)
    return forged


def mutations():
    seqs = st.integers(min_value=1, max_value=CHAIN_LENGTH)
    return st.one_of(
        st.tuples(st.just("edit"), seqs, st.sampled_from(sorted(FIELD_EDITS))),
        st.tuples(st.just("delete"), seqs),
        st.tuples(st.just("swap"), seqs, seqs).filter(lambda m: m[1] < m[2]),
        st.tuples(st.just("insert"), seqs),
        st.tuples(st.just("truncate"), st.integers(min_value=0, max_value=CHAIN_LENGTH - 1)),
    )


@pytest.mark.django_db
def test_any_single_tampering_is_detected_at_the_right_entry(quality_manager, log):
    system_entries = [
        audit.record(actor=None, action=AuditEntry.Action.UPDATE, obj=quality_manager, reason=f"job {n}")
        for n in range(CHAIN_LENGTH // 2)
    ]
    checkpoints.sign_head()
    user_entries = [_record(quality_manager, changes={"n": [n, n + 1]}) for n in range(CHAIN_LENGTH // 2)]
    ids = {entry.seq: entry.pk for entry in [*system_entries, *user_entries]}
    assert sorted(ids) == list(range(1, CHAIN_LENGTH + 1))
    ids["other_user"] = UserFactory().pk
    checkpoints.sign_head()
    assert [c.seq for c in checkpoints.read_log()] == list(CHECKPOINTED)
    assert audit.verify_chain().ok

    @hypothesis_settings(max_examples=120, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(mutation=mutations())
    def check(mutation):
        with transaction.atomic():
            expected = _apply(mutation, ids)
            result = audit.verify_chain()
            transaction.set_rollback(True)
        assert not result.ok, mutation
        assert result.first_bad_seq == expected, (mutation, result)

    check()
    assert audit.verify_chain().ok  # every tampering was rolled back


@pytest.mark.django_db
def test_checkpoint_log_lines_carry_no_personal_data(quality_manager, log, settings):
    _record(quality_manager, changes={"email": ["a@example.com", "b@example.com"]})
    checkpoints.sign_head()
    with open(settings.AUDIT_CHECKPOINT_PATH) as handle:
        line = json.loads(handle.read())
    assert set(line) == {"seq", "hash", "signed_at", "key_id", "signature"}


@pytest.mark.django_db
def test_an_appended_entry_dated_before_its_predecessor_is_detected(quality_manager, log):
    """A correctly hashed entry written past the last checkpoint by someone with INSERT rights,
    backdated to hide when it was written (#22 §6): time never goes backwards along the chain."""
    for n in range(3):
        _record(quality_manager, changes={"n": [n, n + 1]})
    checkpoints.sign_head()
    head = AuditEntry.objects.order_by("-seq").first()
    forged = _forge(
        head, seq=head.seq + 1, created_at=head.created_at - timedelta(days=30), prev_hash=head.hash, reason="backdated"
    )
    result = audit.verify_chain()
    assert not result.ok
    assert result.first_bad_seq == forged.seq
    assert "dated before" in result.problem
