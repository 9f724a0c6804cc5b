"""Evidence packs (ISO 9001 7.5, 9.2): signed ZIPs that anyone can verify without the portal."""

import base64
import csv
import io
import json
import subprocess
import sys
import time
import zipfile
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from apps.accounts import services as accounts
from apps.accounts.roles import Role
from apps.audit import checkpoints
from apps.audit.models import AuditEntry
from apps.complaints.services import complaint_erase_personal_data
from apps.core.exceptions import BusinessRuleViolation
from apps.evidence import services
from apps.evidence.models import EvidencePack
from apps.evidence.verify_pack import verify
from qms_portal.celery import app
from tests.complaints.factories import make_complaint
from tests.customers.factories import CustomerFactory

URL = "/evidence/packs/"
RECEIVED = "records/complaints.complaint--complaints-received"


@pytest.fixture(autouse=True)
def storage(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.AUDIT_CHECKPOINT_PATH = str(tmp_path / "checkpoints.jsonl")
    return tmp_path


@pytest.fixture
def complaints(db, quality_manager):
    nordwind, sudhang = CustomerFactory(name="Nordwind"), CustomerFactory(name="Sudhang")
    made = [
        make_complaint(qm=quality_manager, customer=nordwind, description="Pallet <b>crushed</b>, see photo"),
        make_complaint(qm=quality_manager, customer=nordwind, status="closed"),
        make_complaint(qm=quality_manager, customer=sudhang),
    ]
    checkpoints.sign_head()
    return {"nordwind": nordwind, "sudhang": sudhang, "complaints": made}


def _build(actor, **kwargs) -> tuple[EvidencePack, zipfile.ZipFile]:
    today = timezone.localdate()
    request = {"clauses": ["ISO 10002"], "period_start": today - timedelta(days=30), "period_end": today, **kwargs}
    pack = services.pack_request(actor=actor, **request)
    pack = services.pack_build(pack_id=pack.pk)
    return pack, zipfile.ZipFile(services.pack_path(pack))


def _csv(archive, name) -> list[dict]:
    return list(csv.DictReader(io.StringIO(archive.read(name).decode())))


def test_a_pack_holds_each_record_type_as_csv_and_json_with_personal_data_masked(complaints, auditor):
    pack, archive = _build(auditor)
    assert (pack.status, pack.record_count) == ("ready", 5)  # 3 received, 1 responded, 1 closed, no escalations
    rows = _csv(archive, f"{RECEIVED}.csv")
    assert sorted(row["reference"] for row in rows) == sorted(c.reference for c in complaints["complaints"])
    assert {row["description"] for row in rows} == {"[personal data]"}
    assert not {"data_key", "token_hash", "description_ct", "email_index"} & set(rows[0])
    records = json.loads(archive.read(f"{RECEIVED}.json"))
    assert [r["reference"] for r in records] == [r["reference"] for r in rows]
    assert "Pallet" not in archive.read(f"{RECEIVED}.json").decode()


def test_the_manifest_lists_every_file_and_its_signature_verifies(complaints, auditor):
    pack, archive = _build(auditor)
    manifest_bytes = archive.read("manifest.json")
    manifest = json.loads(manifest_bytes)
    listed = {entry["path"] for entry in manifest["files"]}
    assert listed == set(archive.namelist()) - {"manifest.json", "manifest.sig"}
    assert manifest["exported_by"]["id"] == auditor.pk
    assert manifest["period"]["to"] == timezone.localdate().isoformat()
    received = next(entry for entry in manifest["files"] if entry["path"] == f"{RECEIVED}.csv")
    assert received["records"] == 3
    assert "complaints_complaint" in received["query"]
    public = checkpoints.private_key().public_key()
    public.verify(base64.b64decode(archive.read("manifest.sig")), manifest_bytes)
    assert verify(str(services.pack_path(pack)), checkpoints.public_key_b64()) == []


def test_the_pack_carries_the_audit_extract_checkpoints_and_an_index(complaints, auditor):
    _pack, archive = _build(auditor)
    trail = _csv(archive, "audit/audit-trail.csv")
    complaint_ids = {str(c.pk) for c in complaints["complaints"]}
    assert complaint_ids <= {row["object_id"] for row in trail if row["content_type__model"] == "complaint"}
    head = AuditEntry.objects.order_by("-seq").first()
    lines = archive.read("audit/checkpoints.jsonl").decode().splitlines()
    assert json.loads(lines[-1])["seq"] <= head.seq
    index = archive.read("index.html").decode()
    assert "ISO 10002" in index
    assert f'href="{RECEIVED}.csv"' in index


def test_a_customer_limited_pack_holds_only_that_customers_records(complaints, auditor):
    _pack, archive = _build(auditor, customer_ids=[complaints["nordwind"].pk])
    references = {row["reference"] for row in _csv(archive, f"{RECEIVED}.csv")}
    assert references == {c.reference for c in complaints["complaints"][:2]}
    trail_ids = {row["object_id"] for row in _csv(archive, "audit/audit-trail.csv")}
    assert str(complaints["complaints"][2].pk) not in trail_ids


def test_personal_data_is_included_only_with_the_permission_and_erased_people_stay_erased(
    complaints, auditor, quality_manager
):
    with pytest.raises(BusinessRuleViolation, match="personal data"):
        _build(auditor, include_personal_data=True)
    erased = complaints["complaints"][1]
    complaint_erase_personal_data(complaint_id=erased.pk, actor=quality_manager, reason="request")
    _pack, archive = _build(quality_manager, include_personal_data=True)
    by_reference = {row["reference"]: row for row in _csv(archive, f"{RECEIVED}.csv")}
    assert by_reference[complaints["complaints"][0].reference]["description"] == "Pallet <b>crushed</b>, see photo"
    assert by_reference[erased.reference]["description"] == ""
    index = archive.read("index.html").decode()
    assert "<b>crushed" not in index


def _rewrite(path, *, change=None, add=None, drop=None):
    """Copy the pack with one file changed, added or removed, as someone tampering would."""
    source = zipfile.ZipFile(path)
    target_path = path.with_name("tampered.zip")
    with zipfile.ZipFile(target_path, "w") as target:
        for name in source.namelist():
            if name == drop:
                continue
            data = source.read(name)
            if name == change:
                data = data.replace(b"closed", b"resolved", 1) + b"\n"
            target.writestr(name, data)
        if add:
            target.writestr(add, b"planted")
    return target_path


@pytest.mark.parametrize(
    ("tampering", "message"),
    [
        ({"change": f"{RECEIVED}.csv"}, "was changed"),
        ({"add": "records/extra.csv"}, "was added"),
        ({"drop": "audit/audit-trail.json"}, "was removed"),
        ({"change": "manifest.json"}, "signature does not verify"),
    ],
)
def test_any_changed_added_or_removed_file_fails_verification(complaints, auditor, tampering, message):
    pack, _archive = _build(auditor)
    tampered = _rewrite(services.pack_path(pack), **tampering)
    problems = verify(str(tampered), checkpoints.public_key_b64())
    assert any(message in problem for problem in problems), problems
    with pytest.raises(CommandError, match="NOT INTACT"):
        call_command("verify_evidence", str(tampered))


def test_the_script_inside_the_pack_verifies_it_with_python_alone(complaints, auditor, storage):
    pack, archive = _build(auditor)
    script = storage / "verify_evidence.py"
    script.write_bytes(archive.read("verify_evidence.py"))
    path = str(services.pack_path(pack))
    key = checkpoints.public_key_b64()
    ok = subprocess.run([sys.executable, str(script), path, "--public-key", key], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    other_key = base64.b64encode(Ed25519PrivateKey.generate().public_key().public_bytes_raw()).decode()
    forged = subprocess.run([sys.executable, str(script), path, "--public-key", other_key], capture_output=True)
    assert forged.returncode == 1
    tampered = _rewrite(services.pack_path(pack), change=f"{RECEIVED}.json")
    changed = subprocess.run([sys.executable, str(script), str(tampered), "--public-key", key], capture_output=True)
    assert changed.returncode == 1


def test_the_export_command_builds_a_pack_that_the_verify_command_accepts(complaints, auditor, storage, capsys):
    out = storage / "pack.zip"
    today = timezone.localdate()
    call_command(
        "export_evidence",
        "--user",
        auditor.email,
        "--clauses",
        "ISO 10002",
        "8.2.1",
        "--from",
        (today - timedelta(days=7)).isoformat(),
        "--to",
        today.isoformat(),
        "--out",
        str(out),
    )
    assert "Evidence pack #" in capsys.readouterr().out
    call_command("verify_evidence", str(out))
    assert "intact" in capsys.readouterr().out


def test_a_build_runs_once_even_when_the_task_is_delivered_twice(complaints, auditor):
    pack, _archive = _build(auditor)
    assert services.pack_build(pack_id=pack.pk) is None
    assert EvidencePack.objects.get(pk=pack.pk).attempts == 1


def test_a_failed_build_is_retried_then_marked_failed_and_leaves_no_file(complaints, auditor, monkeypatch, storage):
    today = timezone.localdate()
    pack = services.pack_request(actor=auditor, clauses=["9.1.2"], period_start=today, period_end=today)

    def broken(self, target):
        target.write_bytes(b"half a pack")
        raise OSError("disk full")

    monkeypatch.setattr(services.PackBuilder, "build", broken)
    for attempt in range(1, services.PACK_MAX_ATTEMPTS + 1):
        with pytest.raises(OSError, match="disk full"):
            services.pack_build(pack_id=pack.pk)
        pack.refresh_from_db()
        assert pack.attempts == attempt
    assert (pack.status, pack.error) == ("failed", "OSError: disk full")
    assert not list((storage / "media" / "evidence").iterdir())
    assert services.pack_build(pack_id=pack.pk) is None


def test_the_sweeper_requeues_lost_builds_and_deletes_expired_packs(complaints, auditor, settings):
    pack, _archive = _build(auditor)
    path = services.pack_path(pack)
    lost = services.pack_request(
        actor=auditor, clauses=["9.3"], period_start=timezone.localdate(), period_end=timezone.localdate()
    )
    later = timezone.now() + timedelta(days=settings.EVIDENCE_PACK_RETENTION_DAYS, minutes=1)
    result = services.sweep_packs(now=later)
    assert result == {"requeued": 1, "expired": 1}
    assert not path.exists()
    assert EvidencePack.objects.get(pk=pack.pk).status == "expired"
    assert EvidencePack.objects.get(pk=lost.pk).status == "queued"


@pytest.mark.parametrize(("persona", "expected"), [("staff", 403), ("other_staff", 403), ("anonymous", 302)])
def test_only_auditors_and_quality_managers_reach_the_pack_page(clients, persona, expected):
    assert clients[persona].get(URL).status_code == expected
    assert clients[persona].post(URL, {"clauses": ["9.3"]}).status_code == expected
    assert not EvidencePack.objects.exists()


def test_an_auditor_requests_a_pack_from_the_page(clients, auditor, django_capture_on_commit_callbacks):
    today = timezone.localdate()
    form = {"clauses": ["9.1.2", "10.2"], "start": (today - timedelta(days=90)).isoformat(), "end": today.isoformat()}
    with django_capture_on_commit_callbacks() as callbacks:
        response = clients["auditor"].post(URL, form)
    assert response.status_code == 302
    pack = EvidencePack.objects.get()
    assert (pack.requested_by, pack.clauses, len(callbacks)) == (auditor, ["9.1.2", "10.2"], 1)
    assert AuditEntry.objects.filter(action="export", object_id=str(pack.pk)).exists()
    page = clients["auditor"].get(URL).content.decode()
    assert 'data-status="queued"' in page
    assert "Include personal data" not in page  # auditors hold no such permission by default


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"clauses": []}, "This field is required"),
        ({"clauses": ["9.3"], "customers": "12, abc"}, "customer numbers separated by commas"),
        ({"clauses": ["9.3"], "customers": "999999"}, "No customer has the number"),
        ({"clauses": ["9.3"], "start": "2026-05-01", "end": "2026-04-01"}, "must end on or after"),
    ],
)
def test_a_bad_request_is_explained_and_queues_nothing(clients, form, message):
    data = {"start": "2026-01-01", "end": "2026-03-31", **form}
    response = clients["auditor"].post(URL, data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not EvidencePack.objects.exists()


def test_a_clause_limited_auditor_exports_only_their_clauses(client, quality_manager):
    limited = accounts.user_create(
        email="cora@audit-firm.example",
        full_name="Cora",
        role=Role.AUDITOR,
        actor=quality_manager,
        password="pw-for-tests-only",
        clause_scope=["ISO 10002"],
    )
    with pytest.raises(BusinessRuleViolation, match="may export only"):
        services.pack_request(
            actor=limited, clauses=["9.1.2"], period_start=timezone.localdate(), period_end=timezone.localdate()
        )
    client.force_login(limited)
    page = client.get(URL).content.decode()
    assert 'value="ISO 10002"' in page
    assert 'value="9.1.2"' not in page


def test_packs_are_downloaded_by_their_requester_or_a_quality_manager_and_each_download_is_audited(
    complaints, auditor, clients
):
    pack, _archive = _build(auditor)
    url = f"/evidence/packs/{pack.pk}/download/"
    response = clients["auditor"].get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert b"".join(response.streaming_content)[:2] == b"PK"  # reading it to the end closes the file
    response = clients["quality_manager"].get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:2] == b"PK"
    assert clients["staff"].get(url).status_code == 403
    downloads = AuditEntry.objects.filter(action="export", object_id=str(pack.pk), reason="downloaded")
    assert downloads.count() == 2


def test_another_auditor_cannot_download_someone_elses_pack(complaints, auditor, quality_manager, client):
    pack, _archive = _build(auditor)
    second = accounts.user_create(
        email="second@audit-firm.example",
        full_name="Second",
        role=Role.AUDITOR,
        actor=quality_manager,
        password="pw-for-tests-only",
    )
    client.force_login(second)
    assert client.get(f"/evidence/packs/{pack.pk}/download/").status_code == 404


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_builds_the_requested_pack(auditor):
    today = timezone.localdate()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        pack = services.pack_request(actor=auditor, clauses=["9.1.2"], period_start=today, period_end=today)
        for _ in range(300):
            pack.refresh_from_db()
            if pack.status in ("ready", "failed"):
                break
            time.sleep(0.05)
    assert pack.status == "ready", pack.error
    assert verify(str(services.pack_path(pack)), checkpoints.public_key_b64()) == []
