"""G5 (issue #8/#9): building an evidence pack against the physical floor of the same export,
COPY -> SHA-256 -> ZIP (deflate level 1) of the same records as CSV and JSON, in records per
second; and
the memory the build needs, which must not grow with the number of records."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import zipfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from apps.accounts import services as accounts
from apps.accounts.models import User
from apps.accounts.roles import Role
from apps.evidence import services
from apps.evidence.packs import plain_columns
from apps.feedback.models import Feedback
from apps.surveys.models import Response
from tests.bench import harness

pytestmark = pytest.mark.timeout(900)

CLAUSES = ["9.1.2"]  # survey responses and feedback: the two largest record types
SMALL_RECORDS = 100_000


def _auditor() -> User:
    user = User.objects.filter(email="bench-auditor@example.com").first()
    return user or accounts.user_create(
        email="bench-auditor@example.com", full_name="Bench Auditor", role=Role.AUDITOR, actor=None, password="x"
    )


def _period() -> tuple[date, date]:
    first = Response.objects.order_by("submitted_at").values_list("submitted_at", flat=True).first()
    last = Response.objects.order_by("-submitted_at").values_list("submitted_at", flat=True).first()
    return first.date() - timedelta(days=1), last.date() + timedelta(days=1)


def _records(start: date, end: date) -> int:
    span = {"gte": start, "lt": end + timedelta(days=1)}
    return (
        Response.objects.filter(submitted_at__date__gte=span["gte"], submitted_at__date__lt=span["lt"]).count()
        + Feedback.objects.filter(created_at__date__gte=span["gte"], created_at__date__lt=span["lt"]).count()
    )


def build_pack(user: User, start: date, end: date) -> tuple[int, float]:
    pack = services.pack_request(actor=user, clauses=CLAUSES, period_start=start, period_end=end, enqueue=False)
    started = time.perf_counter()
    pack = services.pack_build(pack_id=pack.pk)
    seconds = time.perf_counter() - started
    services.pack_path(pack).unlink()
    return pack.record_count, seconds


def reference_export(start: date, end: date, target: Path) -> tuple[int, float]:
    """The essential work on a bare cursor: the same rows of the same tables, as CSV and as
    JSON (what a pack holds), each COPY'd into a deflate-1 ZIP entry and hashed on the way."""
    tables = [(Response, "submitted_at"), (Feedback, "created_at")]
    started = time.perf_counter()
    rows = 0
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for model, column in tables:
            columns = ", ".join(f'"{name}"' for name in plain_columns(model))
            with connection.connection.cursor() as cursor:
                select = cursor.mogrify(
                    f'SELECT {columns} FROM {model._meta.db_table} WHERE "{column}" >= %s AND "{column}" < %s '  # noqa: S608
                    "ORDER BY id",
                    [start, end + timedelta(days=1)],
                ).decode()
                copies = {
                    "csv": f"COPY ({select}) TO STDOUT WITH (FORMAT csv)",
                    "json": f"COPY (SELECT row_to_json(t) FROM ({select}) t) TO STDOUT "  # noqa: S608
                    "WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')",
                }
                for suffix, copy in copies.items():
                    with archive.open(f"{model._meta.db_table}.{suffix}", "w", force_zip64=True) as raw:
                        sink = _HashingSink(raw)
                        cursor.copy_expert(copy, sink)
                        sink.close()
                    if suffix == "csv":
                        rows += sink.lines
    seconds = time.perf_counter() - started
    target.unlink()
    return rows, seconds


class _HashingSink:
    """COPY's target: hashes and counts lines, then writes a megabyte at a time into the ZIP
    entry (per-row writes would make the reference slower than it need be)."""

    def __init__(self, raw):
        self.raw = raw
        self.digest = hashlib.sha256()
        self.lines = 0
        self.buffer = bytearray()

    def write(self, data):
        self.buffer += data
        if len(self.buffer) >= 1 << 20:
            self.flush()

    def flush(self):
        self.digest.update(self.buffer)
        self.lines += self.buffer.count(b"\n")
        self.raw.write(self.buffer)
        self.buffer.clear()

    def close(self):
        self.flush()


def _build_in_a_fresh_process(start: date, end: date) -> dict:
    """A pack built by tests.bench.evidence_memory in its own process, so its peak memory is
    its own and not the high-water mark of everything this bench process did before."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.bench.worker_settings",
        "TEST_DATABASE_NAME": settings.TEST_DATABASE_NAME,
        "PYTHONPATH": str(harness.ROOT),
    }
    result = subprocess.run(
        [sys.executable, "-m", "tests.bench.evidence_memory", start.isoformat(), end.isoformat()],
        cwd=harness.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_g5_evidence_export_keeps_up_with_copy_and_its_memory_stays_flat(dataset, tmp_path):
    user = _auditor()
    start, end = _period()
    records = _records(start, end)
    assert records > 0

    def subject() -> float:
        count, seconds = build_pack(user, start, end)
        return count / seconds

    def reference() -> float:
        count, seconds = reference_export(start, end, tmp_path / "reference.zip")
        return count / seconds

    outcome = harness.compare(
        "G5",
        subject,
        reference,
        unit=" rec/s",
        notes=f"{records:,} survey responses and feedback rows as CSV + JSON, personal data masked",
    )

    # Memory: a pack of about SMALL_RECORDS records, then one of every record.
    small_end = start
    while _records(start, small_end) < min(SMALL_RECORDS, records // 10) and small_end < end:
        small_end += timedelta(days=7)
    small = _build_in_a_fresh_process(start, small_end)
    full = _build_in_a_fresh_process(start, end)
    growth_mb = max(0, full["growth_kb"] - small["growth_kb"]) / 1024
    harness.bound(
        "G5-memory",
        round(growth_mb, 1),
        64,
        unit=" MB",
        notes=f"peak memory above the process's size before building {small['records']:,} records: "
        f"{small['growth_kb'] / 1024:.1f} MB; {full['records']:,} records: {full['growth_kb'] / 1024:.1f} MB",
    )
    assert outcome.verdict != "fail", harness.table()
    assert growth_mb <= 64, harness.table()
