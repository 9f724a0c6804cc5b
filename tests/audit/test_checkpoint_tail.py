"""What the database owner could rewrite unnoticed is at most the last minute (#22 §6): the head
is signed every minute while entries are written, and always before an integrity check or an
evidence pack is built."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.utils import timezone

from apps.audit import checkpoints
from apps.audit.models import AuditEntry
from apps.evidence import services as evidence
from tests.audit.test_services import _record


@pytest.fixture(autouse=True)
def log(settings, tmp_path):
    settings.AUDIT_CHECKPOINT_PATH = str(tmp_path / "checkpoints.jsonl")
    settings.MEDIA_ROOT = str(tmp_path / "media")


def _head_seq() -> int:
    return AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first()


def test_the_beat_signs_the_head_every_minute_and_a_late_tick_expires_before_the_next():
    entry = django_settings.CELERY_BEAT_SCHEDULE["audit.sign_checkpoint"]
    assert entry["schedule"] <= timedelta(minutes=1)
    assert entry["options"]["expires"] < entry["schedule"].total_seconds()


@pytest.mark.django_db
def test_an_integrity_check_signs_the_head_before_verifying(quality_manager, auditor):
    for _ in range(3):
        _record(quality_manager)
    check = evidence.integrity_check_request(actor=auditor)
    evidence.integrity_check_run(check_id=check.pk)
    check.refresh_from_db()
    assert check.status == "intact"
    last = checkpoints.last_checkpoint()
    # Everything the check saw (its own request's entry included) is now vouched for.
    assert last is not None
    assert last.seq >= check.verified
    assert check.checkpoints == 1


@pytest.mark.django_db
def test_an_evidence_pack_build_signs_the_head_first(quality_manager, auditor):
    _record(quality_manager)
    today = timezone.localdate()
    pack = evidence.pack_request(
        actor=auditor, clauses=["ISO 10002"], period_start=today - timedelta(days=7), period_end=today
    )
    head = _head_seq()
    evidence.pack_build(pack_id=pack.pk)
    assert checkpoints.last_checkpoint().seq >= head


@pytest.mark.django_db
def test_verify_audit_trail_signs_the_head_first(quality_manager):
    _record(quality_manager)
    out = io.StringIO()
    call_command("verify_audit_trail", stdout=out)
    assert checkpoints.last_checkpoint().seq == _head_seq()
    assert "against 1 signed checkpoints" in out.getvalue()


@pytest.mark.django_db
def test_signing_reads_the_last_line_of_a_long_log_without_trailing_newline(quality_manager, settings):
    _record(quality_manager)
    first = checkpoints.sign_head()
    with open(settings.AUDIT_CHECKPOINT_PATH, "rb+") as handle:
        text = handle.read()
        handle.seek(0)
        # Blank lines and a missing final newline: the same checkpoint still counts as the last.
        handle.write(b"\n" + text.rstrip(b"\n"))
    assert checkpoints.sign_head() is None
    _record(quality_manager)
    second = checkpoints.sign_head()
    assert (first.line, second.line) == (1, 2)
    assert [c.seq for c in checkpoints.read_log()] == [first.seq, second.seq]
