"""The integrity page: the audit chain verified in the background against the signed checkpoints."""

import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from apps.audit import checkpoints
from apps.evidence import services
from apps.evidence.models import IntegrityCheck
from qms_portal.celery import app
from tests.audit.test_services import _record, _tamper

URL = "/evidence/integrity/"


@pytest.fixture(autouse=True)
def log(settings, tmp_path):
    settings.AUDIT_CHECKPOINT_PATH = str(tmp_path / "checkpoints.jsonl")


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 200), ("auditor", 200), ("staff", 403), ("other_staff", 403), ("anonymous", 302)],
)
def test_integrity_page_access(clients, persona, expected):
    assert clients[persona].get(URL).status_code == expected


@pytest.mark.parametrize(("persona", "expected"), [("staff", 403), ("anonymous", 302)])
def test_only_auditors_and_quality_managers_start_a_verification(clients, persona, expected):
    assert clients[persona].post(URL).status_code == expected
    assert not IntegrityCheck.objects.exists()


def test_a_requested_verification_runs_after_commit_and_reports_intact(
    clients, quality_manager, django_capture_on_commit_callbacks
):
    for _ in range(4):
        _record(quality_manager)
    checkpoints.sign_head()
    with django_capture_on_commit_callbacks() as callbacks:
        assert clients["auditor"].post(URL).status_code == 302
    check = IntegrityCheck.objects.get()
    assert (check.status, len(callbacks)) == (IntegrityCheck.Status.QUEUED, 1)
    page = clients["auditor"].get(URL).content.decode()
    assert 'http-equiv="refresh"' in page  # reloads itself while the run is pending

    services.integrity_check_run(check_id=check.pk)
    check.refresh_from_db()
    assert (check.status, check.verified, check.checkpoints, check.total) == ("intact", 4, 1, 4)
    page = clients["auditor"].get(URL).content.decode()
    assert 'data-status="intact"' in page
    assert "4 entries verified against 1 signed checkpoints" in page
    assert 'http-equiv="refresh"' not in page
    assert checkpoints.public_key_b64() in page


def test_a_broken_chain_names_the_first_bad_entry(clients, quality_manager):
    entries = [_record(quality_manager) for _ in range(5)]
    _tamper("UPDATE audit_auditentry SET reason = 'rewritten' WHERE id = %s", [entries[2].pk])
    check = services.integrity_check_request(actor=quality_manager)
    services.integrity_check_run(check_id=check.pk)
    page = clients["auditor"].get(URL).content.decode()
    assert 'data-status="broken"' in page
    assert "Broken at entry #3." in page


def test_only_one_verification_runs_at_a_time_and_a_duplicate_task_does_nothing(quality_manager, auditor):
    first = services.integrity_check_request(actor=auditor)
    assert services.integrity_check_request(actor=quality_manager).pk == first.pk
    assert services.integrity_check_run(check_id=first.pk).status == "intact"
    assert services.integrity_check_run(check_id=first.pk) is None
    assert IntegrityCheck.objects.count() == 1


def test_a_run_whose_worker_died_is_replaced(quality_manager):
    stuck = services.integrity_check_request(actor=quality_manager)
    IntegrityCheck.objects.filter(pk=stuck.pk).update(
        status=IntegrityCheck.Status.RUNNING, heartbeat_at=timezone.now() - services.STALE_AFTER - timedelta(seconds=1)
    )
    fresh = services.integrity_check_request(actor=quality_manager)
    assert fresh.pk != stuck.pk
    stuck.refresh_from_db()
    assert stuck.status == IntegrityCheck.Status.INTERRUPTED


def test_progress_is_reported_while_verifying(quality_manager, monkeypatch):
    for _ in range(7):
        _record(quality_manager)
    check = services.integrity_check_request(actor=quality_manager)
    seen = []
    real_verify = services.verify_chain

    def observed(**kwargs):
        report = kwargs["progress"]

        def progress(verified):
            report(verified)
            seen.append(IntegrityCheck.objects.values_list("verified", flat=True).get(pk=check.pk))

        return real_verify(**{**kwargs, "progress": progress})

    monkeypatch.setattr(services, "PROGRESS_EVERY", 2)
    monkeypatch.setattr(services, "verify_chain", observed)
    services.integrity_check_run(check_id=check.pk)
    assert seen == [2, 4, 6]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_verification(quality_manager):
    for _ in range(3):
        _record(quality_manager)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        check = services.integrity_check_request(actor=quality_manager)
        for _ in range(200):
            check.refresh_from_db()
            if not check.active:
                break
            time.sleep(0.05)
    assert (check.status, check.verified) == (IntegrityCheck.Status.INTACT, 3)
