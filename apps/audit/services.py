"""Writing and verifying the audit trail. Every app records through `record()`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction

from apps.audit.models import AuditEntry

PERSONAL_DATA_MARK = "[personal data]"

Actor = Any  # a User, None / "system", or "public"


def _actor_fields(actor: Actor) -> tuple[str, int | None]:
    if actor is None or actor == AuditEntry.ActorKind.SYSTEM:
        return AuditEntry.ActorKind.SYSTEM, None
    if actor == AuditEntry.ActorKind.PUBLIC:
        return AuditEntry.ActorKind.PUBLIC, None
    if getattr(actor, "is_authenticated", False):
        return AuditEntry.ActorKind.USER, actor.pk
    if getattr(actor, "is_anonymous", False):
        return AuditEntry.ActorKind.PUBLIC, None
    raise TypeError(f"Not an audit actor: {actor!r}")


def label_for(obj: models.Model) -> str:
    """A readable label without personal data: the model's `audit_label()` or "<type> #<pk>"."""
    if hasattr(obj, "audit_label"):
        return str(obj.audit_label())[:200]
    return f"{obj._meta.verbose_name} #{obj.pk}"[:200]


def mask_personal(obj: models.Model, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Replace values of the model's AUDIT_PERSONAL_FIELDS by a marker.

    The chain must never need rewriting when a person is erased, so it only
    records that such a field changed, never what it held.
    """
    personal = set(getattr(obj, "AUDIT_PERSONAL_FIELDS", ()))
    masked = {}
    for field, value in changes.items():
        if field in personal:
            masked[field] = (
                [PERSONAL_DATA_MARK, PERSONAL_DATA_MARK] if isinstance(value, list | tuple) else PERSONAL_DATA_MARK
            )
        else:
            masked[field] = value
    return masked


def snapshot(obj: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """Field values of `obj` as they will be compared and stored (foreign keys by id).

    Values JSON cannot hold as they are (a django-countries Country, say) are
    stored as their database value.
    """
    values = {}
    for name in fields:
        field = obj._meta.get_field(name)
        value = getattr(obj, field.attname)
        if not isinstance(value, _JSON_NATIVE):
            value = field.get_prep_value(value)
        values[name] = value
    return values


_JSON_NATIVE = (str, int, float, bool, type(None), list, dict, Decimal, date, time, timedelta, UUID)


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Field-level changes as {field: [before, after]}, only where the value changed."""
    return {name: [before.get(name), after.get(name)] for name in after if before.get(name) != after.get(name)}


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_parts(
    *,
    actor_kind: str,
    actor_id: int | None,
    action: str,
    record_type: str,
    object_id: str,
    object_label: str,
    changes: Any,
    reason: str,
) -> tuple[bytes, bytes, bytes]:
    """The canonical JSON of an entry around the three values the chain assigns on append.

    The whole is the JSON object of every field with sorted keys and no spaces:
    head + created_at + mid + prev_hash + tail + seq + "}". The database's audit_append()
    joins the fragments with its own three values and hashes the result (migration 0005).
    """
    head = (
        f'{{"action":{_json(action)},"actor_id":{_json(actor_id)},"actor_kind":{_json(actor_kind)},'
        f'"changes":{_json(changes)},"created_at":"'
    )
    mid = f'","object_id":{_json(object_id)},"object_label":{_json(object_label)},"prev_hash":"'
    tail = f'","reason":{_json(reason)},"record_type":{_json(record_type)},"seq":'
    return head.encode(), mid.encode(), tail.encode()


def canonical_bytes(*, seq: int, created_at, prev_hash: str, **fields: Any) -> bytes:
    head, mid, tail = canonical_parts(**fields)
    timestamp = created_at.astimezone(UTC).isoformat(timespec="microseconds")
    return b"".join([head, timestamp.encode(), mid, prev_hash.encode(), tail, str(seq).encode(), b"}"])


def _record_type(content_type_id: int, using: str | None = None) -> str:
    # Content types are read from the entry's own database: a restored copy is verified on
    # a connection of its own (apps/core/backup.py), and its ids need not match the portal's.
    content_type = ContentType.objects.db_manager(using).get_for_id(content_type_id)
    return f"{content_type.app_label}.{content_type.model}"


def entry_hash(entry: AuditEntry) -> str:
    return hashlib.sha256(
        canonical_bytes(
            seq=entry.seq,
            created_at=entry.created_at,
            actor_kind=entry.actor_kind,
            actor_id=entry.actor_id,
            action=entry.action,
            record_type=_record_type(entry.content_type_id, entry._state.db),
            object_id=entry.object_id,
            object_label=entry.object_label,
            changes=entry.changes,
            reason=entry.reason,
            prev_hash=entry.prev_hash,
        )
    ).hexdigest()


def record(
    *,
    actor: Actor,
    action: str,
    obj: models.Model,
    changes: Mapping[str, Any] | None = None,
    reason: str = "",
) -> AuditEntry:
    """Append one entry to the chain inside the caller's transaction.

    The database's audit_append() takes a transaction-scoped advisory lock, so appends
    are serialised until the caller commits or rolls back (and the entry goes with the
    change); it assigns seq, created_at and prev_hash and hashes in the same statement.
    Values are normalised through JSON first, so what is hashed is exactly what
    PostgreSQL gives back.
    """
    actor_kind, actor_id = _actor_fields(actor)
    normalised = json.loads(json.dumps(mask_personal(obj, changes or {}), cls=DjangoJSONEncoder))
    content_type = ContentType.objects.get_for_model(obj, for_concrete_model=True)
    entry = AuditEntry(
        actor_kind=actor_kind,
        actor_id=actor_id,
        action=action,
        content_type=content_type,
        object_id=str(obj.pk),
        object_label=label_for(obj),
        changes=normalised,
        reason=reason,
    )
    fragments = canonical_parts(
        actor_kind=actor_kind,
        actor_id=actor_id,
        action=action,
        record_type=_record_type(content_type.pk),
        object_id=entry.object_id,
        object_label=entry.object_label,
        changes=normalised,
        reason=reason,
    )
    # No savepoint of its own: a failed append must undo the caller's change too.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(
            "SELECT * FROM audit_append(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s)",
            [
                *fragments,
                actor_kind,
                actor_id,
                action,
                content_type.pk,
                entry.object_id,
                entry.object_label,
                _json(normalised),
                reason,
            ],
        )
        entry.pk, entry.seq, entry.created_at, entry.prev_hash, entry.hash = cursor.fetchone()
    entry._state.adding = False
    entry._state.db = connection.alias
    return entry


@dataclass(frozen=True)
class VerificationResult:
    ok: bool
    verified: int
    first_bad_seq: int | None = None
    problem: str = ""
    checkpoints: int = 0  # signed checkpoints the chain was checked against


def verify_chain(
    *, chunk_size: int = 5000, progress=None, checkpoints=None, using: str = "default"
) -> VerificationResult:
    """Recompute every hash in order and compare with the signed checkpoints.

    Detects an edited row (its hash no longer matches), a removed or inserted row (a gap in
    `seq`, or `prev_hash` not pointing at the previous entry), an entry dated before the one
    it follows. A chain rewritten from some
    point on is consistent in itself, so it is caught by the signed checkpoints kept outside
    the database (apps.audit.checkpoints): every checkpointed entry must still carry the
    hash that was signed, and no checkpointed entry may be missing. `checkpoints` defaults to
    the configured checkpoint log; `using` names the database (a restored copy's, say).
    """
    from apps.audit import checkpoints as signed

    if checkpoints is None:
        try:
            checkpoints = signed.read_log()
        except signed.CheckpointLogError as error:
            return VerificationResult(False, 0, None, str(error))
    keys = signed.trusted_keys() if checkpoints else {}
    for checkpoint in checkpoints:
        problem = checkpoint.signature_problem(keys)
        if problem:
            return VerificationResult(False, 0, checkpoint.seq, problem)
    signed_hashes: dict[int, list] = {}
    for checkpoint in checkpoints:
        signed_hashes.setdefault(checkpoint.seq, []).append(checkpoint)
    last_good_checkpoint = 0

    expected_prev = AuditEntry.GENESIS_HASH
    expected_seq = 1
    previous_at = None
    verified = 0
    entries = AuditEntry.objects.using(using).order_by("seq").iterator(chunk_size=chunk_size)
    for entry in entries:
        if entry.seq != expected_seq:
            return VerificationResult(
                False, verified, expected_seq, f"entry #{expected_seq} is missing (next present is #{entry.seq})"
            )
        if entry.prev_hash != expected_prev:
            return VerificationResult(
                False, verified, entry.seq, f"entry #{entry.seq} does not link to #{entry.seq - 1}"
            )
        if entry_hash(entry) != entry.hash:
            return VerificationResult(
                False, verified, entry.seq, f"entry #{entry.seq} was altered after it was written"
            )
        # audit_append() dates each entry under the chain lock, so time only moves forward along
        # the chain; an entry dated before its predecessor was written some other way.
        if previous_at is not None and entry.created_at < previous_at:
            return VerificationResult(
                False, verified, entry.seq, f"entry #{entry.seq} is dated before entry #{entry.seq - 1}"
            )
        for checkpoint in signed_hashes.get(entry.seq, ()):
            if checkpoint.hash != entry.hash:
                return VerificationResult(
                    False,
                    verified,
                    last_good_checkpoint + 1,
                    f"entry #{entry.seq} differs from the checkpoint signed at {checkpoint.signed_at}: "
                    f"the chain was rewritten between entries #{last_good_checkpoint + 1} and #{entry.seq}",
                )
            last_good_checkpoint = entry.seq
        expected_prev = entry.hash
        previous_at = entry.created_at
        expected_seq += 1
        verified += 1
        if progress is not None and verified % chunk_size == 0:
            progress(verified)
    beyond = [checkpoint for checkpoint in checkpoints if checkpoint.seq > verified]
    if beyond:
        checkpoint = min(beyond, key=lambda c: c.seq)
        return VerificationResult(
            False,
            verified,
            verified + 1,
            f"entries after #{verified} are missing: the checkpoint signed at {checkpoint.signed_at} "
            f"covers entry #{checkpoint.seq}",
        )
    return VerificationResult(True, verified, checkpoints=len(checkpoints))
