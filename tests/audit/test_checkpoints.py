"""Signed checkpoints: a chain rewritten in the database no longer verifies."""

import base64
import json
import threading
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections

from apps.audit import checkpoints
from apps.audit import services as audit
from apps.audit.models import AuditEntry
from apps.audit.tasks import sign_checkpoint_task
from tests.audit.test_services import _record, _tamper
from tests.core.test_settings import PRODUCTION_ENV, _manage


@pytest.fixture
def log(settings, tmp_path):
    settings.AUDIT_CHECKPOINT_PATH = str(tmp_path / "audit" / "checkpoints.jsonl")
    return tmp_path / "audit" / "checkpoints.jsonl"


def _lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _rewrite_from(seq: int) -> None:
    """Rewrite every entry from `seq` on with consistent hashes, as a database owner could."""
    previous = AuditEntry.objects.get(seq=seq - 1).hash if seq > 1 else AuditEntry.GENESIS_HASH
    for entry in AuditEntry.objects.filter(seq__gte=seq).order_by("seq"):
        entry.reason = "rewritten"
        entry.prev_hash = previous
        entry.hash = audit.entry_hash(entry)
        _tamper(
            "UPDATE audit_auditentry SET reason = %s, prev_hash = %s, hash = %s WHERE id = %s",
            [entry.reason, entry.prev_hash, entry.hash, entry.pk],
        )
        previous = entry.hash


@pytest.mark.django_db
def test_signs_the_head_with_the_portal_key(quality_manager, log):
    entries = [_record(quality_manager) for _ in range(3)]
    checkpoint = checkpoints.sign_head(now=datetime(2026, 11, 22, 8, 0, tzinfo=UTC))

    [line] = _lines(log)
    assert (line["seq"], line["hash"], line["signed_at"]) == (3, entries[-1].hash, "2026-11-22T08:00:00+00:00")
    assert checkpoint.seq == 3
    # Anyone holding only the public key can check the line.
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(checkpoints.public_key_b64()))
    signed = json.dumps({"seq": 3, "hash": entries[-1].hash, "signed_at": line["signed_at"]}, sort_keys=True)
    public.verify(base64.b64decode(line["signature"]), signed.encode())


@pytest.mark.django_db
def test_an_unchanged_head_or_an_empty_chain_appends_nothing(quality_manager, log):
    assert checkpoints.sign_head() is None
    assert not log.exists()
    _record(quality_manager)
    assert checkpoints.sign_head() is not None
    assert checkpoints.sign_head() is None
    assert sign_checkpoint_task() is None
    _record(quality_manager)
    assert sign_checkpoint_task() == 2
    assert [line["seq"] for line in _lines(log)] == [1, 2]


@pytest.mark.django_db
def test_a_chain_rewritten_from_some_entry_on_fails_against_the_checkpoints(quality_manager, log):
    for _ in range(3):
        _record(quality_manager)
    checkpoints.sign_head()
    for _ in range(3):
        _record(quality_manager)
    checkpoints.sign_head()
    _rewrite_from(2)

    # The chain alone cannot tell: every hash and link was recomputed.
    assert audit.verify_chain(checkpoints=[]).ok
    result = audit.verify_chain()
    assert not result.ok
    assert result.first_bad_seq == 1  # no earlier checkpoint vouches for entries before #3
    assert "entry #3 differs from the checkpoint" in result.problem
    assert "between entries #1 and #3" in result.problem
    with pytest.raises(CommandError, match="BROKEN"):
        call_command("verify_audit_trail")


@pytest.mark.django_db
def test_a_rewrite_after_a_matching_checkpoint_is_located_after_it(quality_manager, log):
    for _ in range(3):
        _record(quality_manager)
    checkpoints.sign_head()
    for _ in range(3):
        _record(quality_manager)
    checkpoints.sign_head()
    _rewrite_from(5)

    result = audit.verify_chain()
    assert (result.ok, result.first_bad_seq, result.verified) == (False, 4, 5)
    assert "rewritten between entries #4 and #6" in result.problem


@pytest.mark.django_db
def test_truncated_entries_covered_by_a_checkpoint_are_reported(quality_manager, log):
    entries = [_record(quality_manager) for _ in range(5)]
    checkpoints.sign_head()
    _tamper("DELETE FROM audit_auditentry WHERE id IN (%s, %s)", [entries[3].pk, entries[4].pk])

    result = audit.verify_chain()
    assert (result.ok, result.first_bad_seq, result.verified) == (False, 4, 3)
    assert "covers entry #5" in result.problem


@pytest.mark.django_db
def test_an_edited_checkpoint_line_is_refused(quality_manager, log):
    _record(quality_manager)
    checkpoints.sign_head()
    line = _lines(log)[0]
    line["hash"] = "f" * 64
    log.write_text(json.dumps(line) + "\n")

    result = audit.verify_chain()
    assert not result.ok
    assert "invalid signature" in result.problem


@pytest.mark.django_db
def test_a_garbled_log_is_reported_not_crashed_on(quality_manager, log):
    _record(quality_manager)
    checkpoints.sign_head()
    with log.open("a") as handle:
        handle.write("not json\n")
    result = audit.verify_chain()
    assert not result.ok
    assert "line 2" in result.problem


@pytest.mark.django_db
def test_checkpoints_of_a_rotated_key_verify_once_its_public_key_is_trusted(quality_manager, log, settings):
    _record(quality_manager)
    old_public = checkpoints.public_key_b64()
    checkpoints.sign_head()
    settings.PORTAL_SIGNING_KEY = checkpoints.generate_private_key()

    result = audit.verify_chain()
    assert not result.ok
    assert "unknown key" in result.problem

    settings.AUDIT_TRUSTED_PUBLIC_KEYS = [old_public]
    _record(quality_manager)
    checkpoints.sign_head()  # signed with the new key
    result = audit.verify_chain()
    assert (result.ok, result.checkpoints) == (True, 2)


@pytest.mark.django_db
def test_command_reports_the_checkpoints_it_checked(quality_manager, log, capsys):
    for _ in range(2):
        _record(quality_manager)
        checkpoints.sign_head()
    call_command("verify_audit_trail")
    assert "2 entries verified against 2 signed checkpoints" in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
def test_concurrent_signers_never_interleave_or_duplicate_lines(quality_manager, log):
    for _ in range(3):
        _record(quality_manager)
    errors = []

    def sign():
        try:
            checkpoints.sign_head()
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sign) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [line["seq"] for line in _lines(log)] == [3]


def test_covering_takes_the_period_and_the_first_checkpoint_after_it():
    def at(hour):
        return checkpoints.Checkpoint(
            line=hour, seq=hour, hash="h", signed_at=f"2026-11-22T{hour:02d}:00:00+00:00", key_id="k", signature="s"
        )

    log = [at(hour) for hour in (1, 2, 3, 4, 5)]
    chosen = checkpoints.covering(
        log, start=datetime(2026, 11, 22, 2, tzinfo=UTC), end=datetime(2026, 11, 22, 3, 30, tzinfo=UTC)
    )
    assert [c.seq for c in chosen] == [2, 3, 4]


def test_generated_keys_are_valid_ed25519_seeds():
    seed = base64.b64decode(checkpoints.generate_private_key())
    assert len(seed) == 32
    Ed25519PrivateKey.from_private_bytes(seed)


@pytest.mark.parametrize("value", ["", "not-base64!", base64.b64encode(b"short").decode()])
def test_production_refuses_a_malformed_signing_key(value):
    result = _manage("check", env={**PRODUCTION_ENV, "PORTAL_SIGNING_KEY": value})
    assert result.returncode != 0
    assert "PORTAL_SIGNING_KEY" in result.stderr
