"""Signed checkpoints of the audit chain, kept outside the database (ISO 9001 7.5).

The hash chain shows that one entry was edited, removed or inserted, but someone who can
write to the database could recompute the whole chain from some entry on. So every minute a
beat job signs the chain's head (sequence number, hash, time) with the portal's Ed25519 key
and appends it to a log file under the storage root; verification then checks that every
checkpointed entry still carries the hash that was signed. A rewritten chain no longer
matches, and a checkpoint cannot be forged without the private key.

One JSON object per line:
{"seq": 42, "hash": "<hex>", "signed_at": "<ISO 8601 UTC>", "key_id": "<hex>", "signature": "<base64>"}
The signature covers the canonical JSON of seq, hash and signed_at.

A restore (apps/core/backup.py) starts the restored copy's log with the backup's checkpoints and
one line more, an ordinary checkpoint of the restored head that also says where it came from:
{..., "restored_from": "backup <time> <digest>", "restore_signature": "<base64>"}
The second signature covers seq, hash, signed_at and restored_from, so the note cannot be
changed, and readers that know only the first (evidence packs) still check the line as usual.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.audit.signing_keys import generate_private_key  # noqa: F401 - kept importable from here


def _decode_key(value: str, name: str) -> bytes:
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ImproperlyConfigured(f"{name} must be the base64 encoding of a 32-byte Ed25519 key.")
    return raw


def private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(_decode_key(settings.PORTAL_SIGNING_KEY, "PORTAL_SIGNING_KEY"))


def public_key_bytes(key: Ed25519PublicKey | None = None) -> bytes:
    key = key or private_key().public_key()
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_b64() -> str:
    """The portal's public key as shown to auditors and shipped in evidence packs."""
    return base64.b64encode(public_key_bytes()).decode()


def key_id(raw_public_key: bytes) -> str:
    """A short fingerprint naming which key signed a checkpoint."""
    return hashlib.sha256(raw_public_key).hexdigest()[:16]


def trusted_keys() -> dict[str, Ed25519PublicKey]:
    """The current key and the public keys of earlier ones (kept trusted after a rotation)."""
    keys = {key_id(public_key_bytes()): private_key().public_key()}
    for value in settings.AUDIT_TRUSTED_PUBLIC_KEYS:
        raw = _decode_key(value, "AUDIT_TRUSTED_PUBLIC_KEYS")
        keys[key_id(raw)] = Ed25519PublicKey.from_public_bytes(raw)
    return keys


def _signed_bytes(seq: int, chain_hash: str, signed_at: str, restored_from: str | None = None) -> bytes:
    fields = {"seq": seq, "hash": chain_hash, "signed_at": signed_at}
    if restored_from is not None:
        fields["restored_from"] = restored_from
    return json.dumps(fields, sort_keys=True).encode()


def log_path() -> Path:
    return Path(settings.AUDIT_CHECKPOINT_PATH)


@dataclass(frozen=True)
class Checkpoint:
    line: int
    seq: int
    hash: str
    signed_at: str
    key_id: str
    signature: str
    restored_from: str = ""  # set on the checkpoint a restore writes: which backup, taken when
    restore_signature: str = ""

    def signature_problem(self, keys: dict[str, Ed25519PublicKey]) -> str:
        """Why this checkpoint cannot be trusted, or "" when its signature (both, on a restore's) holds."""
        key = keys.get(self.key_id)
        if key is None:
            return f"checkpoint on line {self.line} was signed by an unknown key {self.key_id}"
        signed = [(self.signature, _signed_bytes(self.seq, self.hash, self.signed_at))]
        if self.restored_from or self.restore_signature:
            signed.append(
                (self.restore_signature, _signed_bytes(self.seq, self.hash, self.signed_at, self.restored_from))
            )
        try:
            for signature, message in signed:
                key.verify(base64.b64decode(signature), message)
        except (InvalidSignature, binascii.Error, ValueError):
            return f"checkpoint on line {self.line} (entry #{self.seq}) has an invalid signature"
        return ""

    def as_record(self) -> dict:
        """The checkpoint as one line of the log holds it."""
        record = {
            "seq": self.seq,
            "hash": self.hash,
            "signed_at": self.signed_at,
            "key_id": self.key_id,
            "signature": self.signature,
        }
        if self.restored_from or self.restore_signature:
            record |= {"restored_from": self.restored_from, "restore_signature": self.restore_signature}
        return record


class CheckpointLogError(ValueError):
    """The checkpoint log cannot be read: a line is not a checkpoint."""


def read_log(path: Path | None = None) -> list[Checkpoint]:
    """Every checkpoint in the log, in file order; no log yet means no checkpoints."""
    path = path or log_path()
    if not path.exists():
        return []
    checkpoints = []
    with path.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                data = json.loads(text)
                checkpoints.append(
                    Checkpoint(
                        line=number,
                        seq=int(data["seq"]),
                        hash=str(data["hash"]),
                        signed_at=str(data["signed_at"]),
                        key_id=str(data["key_id"]),
                        signature=str(data["signature"]),
                        restored_from=str(data.get("restored_from", "")),
                        restore_signature=str(data.get("restore_signature", "")),
                    )
                )
            except (ValueError, KeyError, TypeError) as error:
                raise CheckpointLogError(f"line {number} of the checkpoint log is not a checkpoint") from error
    return checkpoints


def last_checkpoint(path: Path | None = None) -> Checkpoint | None:
    checkpoints = read_log(path)
    return checkpoints[-1] if checkpoints else None


def sign_head(*, now: datetime | None = None) -> Checkpoint | None:
    """Append a signed checkpoint of the chain's current head to the log.

    Returns None when the chain is empty or its head is already the last checkpoint, so a
    beat tick that fires twice, or a retried task, appends nothing. The file is locked while
    reading the last line and appending, so two workers never interleave lines; the line is
    flushed to disk before returning.
    """
    head = AuditEntry.objects.order_by("-seq").values("seq", "hash").first()
    if head is None:
        return None
    path = log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = private_key()
    signed_at = (now or timezone.now()).astimezone(UTC).isoformat(timespec="seconds")
    with path.open("a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            count, last, unterminated = _count_and_last(handle)
            if last and json.loads(last).get("seq") == head["seq"]:
                return None
            signature = key.sign(_signed_bytes(head["seq"], head["hash"], signed_at))
            record = {
                "seq": head["seq"],
                "hash": head["hash"],
                "signed_at": signed_at,
                "key_id": key_id(public_key_bytes(key.public_key())),
                "signature": base64.b64encode(signature).decode(),
            }
            handle.seek(0, os.SEEK_END)
            # A last line cut short (a crash mid-write, an editor) must not swallow this one.
            handle.write(b"\n" * unterminated + (json.dumps(record, sort_keys=True) + "\n").encode())
            handle.flush()
            os.fsync(handle.fileno())
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    return Checkpoint(line=count + 1, **record)


def write_restored_log(
    path: Path, carried: list[Checkpoint], *, seq: int, chain_hash: str, restored_from: str
) -> Checkpoint:
    """Start the log of a restored copy: the checkpoints its backup carried, then a signed
    "restored to entry `seq`" checkpoint naming the backup. The caller has verified the restored
    chain against `carried` and checked that entry `seq` carries `chain_hash`; the file is new
    (a restore goes into an empty folder) and flushed to disk before returning."""
    key = private_key()
    signed_at = timezone.now().astimezone(UTC).isoformat(timespec="seconds")
    marker = Checkpoint(
        line=len(carried) + 1,
        seq=seq,
        hash=chain_hash,
        signed_at=signed_at,
        key_id=key_id(public_key_bytes(key.public_key())),
        signature=base64.b64encode(key.sign(_signed_bytes(seq, chain_hash, signed_at))).decode(),
        restored_from=restored_from,
        restore_signature=base64.b64encode(key.sign(_signed_bytes(seq, chain_hash, signed_at, restored_from))).decode(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("x", encoding="utf-8") as handle:
        for checkpoint in [*carried, marker]:
            handle.write(json.dumps(checkpoint.as_record(), sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return marker


def _count_and_last(handle, block: int = 1 << 16) -> tuple[int, bytes, bool]:
    """The number of non-empty lines, the last one, and whether the file lacks its final
    newline; read block by block: the log gains a line for every minute with entries, and is
    read under the lock on every beat tick."""
    handle.seek(0)
    count, last, pending = 0, b"", b""
    while chunk := handle.read(block):
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        for line in lines:
            if line.strip():
                count, last = count + 1, line
    if pending.strip():
        count, last = count + 1, pending
    return count, last, bool(pending)


def covering(checkpoints: list[Checkpoint], *, start: datetime, end: datetime) -> list[Checkpoint]:
    """The checkpoints signed in [start, end] plus the first one after `end`, which vouches
    for every entry written in the period (evidence packs include these)."""
    inside = []
    for checkpoint in checkpoints:
        signed = datetime.fromisoformat(checkpoint.signed_at)
        if signed < start:
            continue
        inside.append(checkpoint)
        if signed > end:
            break
    return inside
