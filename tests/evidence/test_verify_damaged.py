"""A damaged evidence pack is reported NOT INTACT with its problems, by the command and the shipped script alike.

An auditor may receive a pack through a flaky download or a broken USB stick; the verifier has to say
"this is not the pack that was signed", not crash with a traceback that looks like a portal bug.
"""

import os
import random
import struct
import subprocess
import sys
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from apps.audit import checkpoints
from apps.evidence import services
from apps.evidence.verify_pack import verify
from tests.complaints.factories import make_complaint
from tests.customers.factories import CustomerFactory

RECEIVED_JSON = "records/complaints.complaint--complaints-received.json"
# The fixed part of a ZIP local file header, before the file name and extra field.
LOCAL_HEADER = struct.Struct("<4s5H3L2H")


@pytest.fixture(autouse=True)
def storage(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.AUDIT_CHECKPOINT_PATH = str(tmp_path / "checkpoints.jsonl")
    return tmp_path


@pytest.fixture
def pack_path(db, quality_manager, auditor) -> Path:
    customer = CustomerFactory(name="Nordwind")
    for _ in range(3):
        make_complaint(qm=quality_manager, customer=customer, description="Pallet crushed in transit " * 20)
    checkpoints.sign_head()
    today = timezone.localdate()
    pack = services.pack_request(
        actor=auditor, clauses=["ISO 10002"], period_start=today - timedelta(days=30), period_end=today
    )
    path = services.pack_path(services.pack_build(pack_id=pack.pk))
    assert verify(str(path), checkpoints.public_key_b64()) == []
    return path


def _flip_inside_compressed_data(source: Path, target: Path, member: str) -> None:
    """Flip one byte in the middle of a deflated member's data, leaving every header as it was."""
    with zipfile.ZipFile(source) as archive:
        info = archive.getinfo(member)
    assert info.compress_type == zipfile.ZIP_DEFLATED
    data = bytearray(source.read_bytes())
    header = LOCAL_HEADER.unpack_from(data, info.header_offset)
    name_length, extra_length = header[-2], header[-1]
    start = info.header_offset + LOCAL_HEADER.size + name_length + extra_length
    data[start + info.compress_size // 2] ^= 0x01
    target.write_bytes(bytes(data))


def _damage(kind: str, source: Path, target: Path) -> None:
    if kind == "flipped byte in a record":
        _flip_inside_compressed_data(source, target, RECEIVED_JSON)
    elif kind == "flipped byte in the manifest":
        _flip_inside_compressed_data(source, target, "manifest.json")
    elif kind == "truncated":
        target.write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    elif kind == "garbage":
        target.write_bytes(random.Random(22).randbytes(4096))  # repeatable noise
    elif kind == "empty":
        target.write_bytes(b"")


DAMAGE = ["flipped byte in a record", "flipped byte in the manifest", "truncated", "garbage", "empty"]


def _run(command: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "qms_portal.settings.test"}
    return subprocess.run(command, capture_output=True, text=True, cwd=django_settings.BASE_DIR, env=env, check=False)


@pytest.mark.parametrize("kind", DAMAGE)
def test_a_damaged_pack_is_listed_as_problems_not_raised(pack_path, storage, kind):
    damaged = storage / "damaged.zip"
    _damage(kind, pack_path, damaged)
    problems = verify(str(damaged), checkpoints.public_key_b64())
    assert problems, kind


def test_a_flipped_byte_names_the_damaged_file_and_still_checks_the_others(pack_path, storage):
    damaged = storage / "damaged.zip"
    _damage("flipped byte in a record", pack_path, damaged)
    problems = verify(str(damaged), checkpoints.public_key_b64())
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{RECEIVED_JSON} is damaged"), problems


@pytest.mark.parametrize("kind", DAMAGE)
def test_the_verify_command_reports_a_damaged_pack_not_intact_without_a_traceback(pack_path, storage, kind):
    damaged = storage / "damaged.zip"
    _damage(kind, pack_path, damaged)
    result = _run([sys.executable, "manage.py", "verify_evidence", str(damaged)])
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "NOT INTACT" in output
    assert "Traceback" not in output


@pytest.mark.parametrize("kind", DAMAGE)
def test_the_script_in_the_pack_reports_a_damaged_pack_not_intact_without_a_traceback(pack_path, storage, kind):
    with zipfile.ZipFile(pack_path) as archive:
        script = storage / "verify_evidence.py"
        script.write_bytes(archive.read("verify_evidence.py"))
    damaged = storage / "damaged.zip"
    _damage(kind, pack_path, damaged)
    result = _run([sys.executable, str(script), str(damaged), "--public-key", checkpoints.public_key_b64()])
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "NOT INTACT" in output
    assert "Traceback" not in output
