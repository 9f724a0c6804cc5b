"""/metrics (#23): Prometheus figures behind a bearer token, read back as Prometheus reads them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from apps.complaints.models import Complaint
from apps.core import services
from apps.core.beat import BEAT_LAST_SENT_KEY
from apps.core.models import OutboundEmail
from apps.core.redis_client import redis_client
from apps.core.tasks import canary_task
from qms_portal.celery import app
from tests.complaints.factories import make_complaint
from tests.http_browser import free_port
from tests.workers import ROOT, celery_workers, wait_for

TOKEN = "metrics-test-token-0123456789"


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN


def parse(text: str) -> dict:
    """{(sample name, frozenset of labels): value} of an exposition."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(client) -> dict:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return parse(response.content.decode())


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0)


# Who may read it


@pytest.mark.django_db
def test_off_when_no_token_is_configured(client, settings):
    settings.METRICS_TOKEN = ""
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer ")
    assert response.status_code == 404
    assert b"qms_" not in response.content


@pytest.mark.parametrize(
    ("authorization", "expected"),
    [
        (None, 401),
        ("Basic bWV0cmljczpzZWNyZXQ=", 401),
        ("Bearer", 401),
        ("Bearer wrong-token", 403),
        (f"Bearer {TOKEN}x", 403),
        (f"Bearer {TOKEN[:-1]}", 403),
        (f"Bearer {TOKEN}", 200),
        (f"bearer {TOKEN}", 200),
    ],
)
@pytest.mark.django_db
def test_only_the_bearer_of_the_token_reads_it(client, metrics_on, authorization, expected):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    response = client.get("/metrics", **headers)
    assert response.status_code == expected
    if expected == 200:
        assert b"qms_outbox_emails" in response.content
    else:
        assert response["Content-Type"].startswith("text/plain")
        assert b"qms_" not in response.content
    if expected == 401:
        assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.django_db
def test_a_signed_in_quality_manager_without_the_token_is_refused(clients, metrics_on):
    assert clients["quality_manager"].get("/metrics").status_code == 401


# Requests


@pytest.mark.django_db
def test_requests_are_counted_by_route_and_status_never_by_path(client, metrics_on):
    before = scrape(client)
    for _ in range(2):
        client.get("/healthz")
    healthz_status = str(client.get("/healthz").status_code)
    client.get("/nowhere/secret-token-4f1c/")
    client.get("/complaints/987654/")  # anonymous: sent to sign in
    text = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    after = parse(text)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("qms_http_requests_total", route="healthz", method="GET", status=healthz_status) == 3
    assert delta("qms_http_requests_total", route="<unresolved>", method="GET", status="404") == 1
    assert delta("qms_http_requests_total", route="complaints:complaint_detail", method="GET", status="302") == 1
    assert delta("qms_http_request_duration_seconds_count", route="healthz") == 3
    assert delta("qms_http_request_duration_seconds_bucket", route="healthz", le="+Inf") == 3
    assert "secret-token-4f1c" not in text
    assert "987654" not in text


# State read at scrape time


@pytest.mark.django_db
def test_outbox_sla_beat_and_checkpoint_figures_in_two_queries(
    client, metrics_on, settings, tmp_path, django_assert_max_num_queries
):
    now = timezone.now()
    overdue = make_complaint()
    make_complaint()  # still within its SLA
    Complaint.objects.filter(pk=overdue.pk).unaudited_update(ack_due_at=now - timedelta(hours=2))  # test set-up
    OutboundEmail.objects.update(status=OutboundEmail.Status.SENT)  # the complaints' own e-mails
    emails = [
        services.email_enqueue(to=f"c{n}@example.com", subject="Hi", template="emails/notification.txt", context={})
        for n in range(4)
    ]
    OutboundEmail.objects.filter(pk=emails[0].pk).update(created_at=now - timedelta(minutes=30))
    OutboundEmail.objects.filter(pk=emails[1].pk).update(status=OutboundEmail.Status.SENDING)
    OutboundEmail.objects.filter(pk=emails[2].pk).update(status=OutboundEmail.Status.FAILED)
    checkpoint_log = tmp_path / "checkpoints.jsonl"
    signed_at = (now - timedelta(minutes=5)).isoformat(timespec="seconds")
    lines = [{"seq": 7, "hash": "a", "signed_at": "2026-01-01T00:00:00+00:00"}, {"seq": 9, "signed_at": signed_at}]
    checkpoint_log.write_text("".join(json.dumps(line) + "\n" for line in lines))
    settings.AUDIT_CHECKPOINT_PATH = str(checkpoint_log)
    redis_client().delete(BEAT_LAST_SENT_KEY)
    redis_client().hset(BEAT_LAST_SENT_KEY, "core.sweep_outbox", "1800000000.5")

    with django_assert_max_num_queries(2):
        samples = scrape(client)

    assert value(samples, "qms_outbox_emails", status="queued") == 2
    assert value(samples, "qms_outbox_emails", status="sending") == 1
    assert value(samples, "qms_outbox_emails", status="failed") == 1
    assert 30 * 60 <= value(samples, "qms_outbox_oldest_unsent_age_seconds") < 31 * 60
    assert value(samples, "qms_complaints_sla_breached") == 1
    assert value(samples, "qms_complaints_sla_breached_by_stage", stage="acknowledge") == 1
    assert 5 * 60 <= value(samples, "qms_audit_checkpoint_age_seconds") < 6 * 60
    assert value(samples, "qms_audit_checkpoint_seq") == 9
    assert value(samples, "qms_beat_last_sent_timestamp_seconds", job="core.sweep_outbox") == 1800000000.5


@pytest.mark.django_db
def test_an_empty_outbox_has_no_oldest_age(client, metrics_on):
    OutboundEmail.objects.all().delete()
    samples = scrape(client)
    assert value(samples, "qms_outbox_emails", status="queued") == 0
    assert value(samples, "qms_outbox_oldest_unsent_age_seconds") == 0


# Celery tasks, counted by a real worker in its own process


@pytest.mark.worker
# Transactional: what the other processes write at start-up (the key check value) is flushed after.
@pytest.mark.django_db(transaction=True)
def test_task_runs_failures_and_retries_of_a_real_worker_show_at_scrape(client, metrics_on, tmp_path):
    app.control.purge()  # canaries other tests left in this run's queue would count too
    with celery_workers(tmp_path, ["import tests.core.metrics_tasks  # noqa: E402, F401"], {}) as start:
        start("worker")
        assert wait_for(lambda: "ready" in (tmp_path / "worker.log").read_text(), timeout=60)
        app.send_task("core.canary")
        app.send_task("tests.metrics_flaky")

        def counted():
            samples = scrape(client)
            return value(samples, "qms_celery_task_failures_total", task="tests.metrics_flaky") and samples

        samples = wait_for(counted, timeout=60)
    assert samples, (tmp_path / "worker.log").read_text()
    assert value(samples, "qms_celery_task_runs_total", task="core.canary") == 1
    assert value(samples, "qms_celery_task_failures_total", task="core.canary") == 0
    assert value(samples, "qms_celery_task_runs_total", task="tests.metrics_flaky") == 2
    assert value(samples, "qms_celery_task_retries_total", task="tests.metrics_flaky") == 1
    assert value(samples, "qms_celery_task_failures_total", task="tests.metrics_flaky") == 1
    assert value(samples, "qms_worker_canary_timestamp_seconds") > 0


# Several gunicorn processes: every scrape sums them all


def _get(url: str, token: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError:
        return 0, ""


@pytest.mark.worker
# Transactional: what the other processes write at start-up (the key check value) is flushed after.
@pytest.mark.django_db(transaction=True)
def test_two_gunicorn_processes_are_counted_together(tmp_path):
    (tmp_path / "metrics_settings.py").write_text(
        "from qms_portal.settings.test import *  # noqa: F403\n"
        f"DATABASES['default']['NAME'] = {connection.settings_dict['NAME']!r}  # noqa: F405\n"
    )
    port = free_port()
    env = {
        **{key: value for key, value in os.environ.items() if key != "PROMETHEUS_MULTIPROC_DIR"},
        "DJANGO_SETTINGS_MODULE": "metrics_settings",
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]),
        "TMPDIR": str(tmp_path),  # where qms_portal/gunicorn.py makes the metrics directory
        "METRICS_TOKEN": TOKEN,
        "WEB_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "WEB_ACCESS_LOG": "",
    }
    base = f"http://127.0.0.1:{port}"
    with (tmp_path / "gunicorn.log").open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "python:qms_portal.gunicorn", "qms_portal.wsgi:application"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        sent = 0

        def both_processes_answered() -> bool:
            nonlocal sent
            sent += _get(f"{base}/healthz")[0] == 200
            return sent >= 20 and len(list(tmp_path.glob("qms-prometheus-*/counter_*.db"))) == 2

        # gunicorn boots its processes one after the other: ask until both have answered (each
        # keeps a file of counts), then every scrape, whichever process answers it, sees them all.
        assert wait_for(both_processes_answered, timeout=90), (tmp_path / "gunicorn.log").read_text()
        totals = []
        for _ in range(6):
            status, text = _get(f"{base}/metrics", TOKEN)
            assert status == 200, text
            totals.append(value(parse(text), "qms_http_requests_total", route="healthz", method="GET", status="200"))
        assert totals == [sent] * 6
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    assert not list(tmp_path.glob("qms-prometheus-*")), "gunicorn removes the directory it made"


def test_production_lets_prometheus_scrape_over_plain_http_inside_the_network():
    """Like /healthz: SECURE_SSL_REDIRECT would send the scrape to https://web:8000/metrics."""
    from tests.core.test_settings import PRODUCTION_ENV, _manage

    code = "from django.test import Client; print(Client().get('/metrics', HTTP_HOST='qms.example.com').status_code)"
    result = _manage("shell", "-c", code, env={**PRODUCTION_ENV, "METRICS_TOKEN": TOKEN})
    assert result.stdout.strip().splitlines()[-1:] == ["401"], result.stdout + result.stderr


@pytest.mark.django_db
def test_the_queue_length_counts_messages_no_worker_took_yet(client, metrics_on):
    app.control.purge()
    for _ in range(3):
        app.send_task("core.canary", expires=60)
    samples = scrape(client)
    assert value(samples, "qms_celery_queue_length", queue=app.conf.task_default_queue) == 3
    app.control.purge()


@pytest.mark.django_db
def test_a_redis_that_stopped_answering_holds_up_one_task_event_not_every_one(settings):
    """A Redis that accepts connections and never answers costs each call its full timeout."""
    from apps.core.metrics import _count_task_event

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)  # connections wait in the backlog, never answered
    try:
        settings.REDIS_CLIENT_URL = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        _count_task_event("runs", canary_task)  # waits for the timeout once
        started = time.monotonic()
        for _ in range(5):
            _count_task_event("runs", canary_task)
        assert time.monotonic() - started < 1
    finally:
        silent.close()


@pytest.mark.django_db
def test_a_paused_complaint_counts_only_under_the_stage_it_missed_before_the_pause(client, metrics_on):
    now = timezone.now()
    complaint = make_complaint()
    # Paused a day ago, after the response was due (missed); the close date fell due during the pause.
    Complaint.objects.filter(pk=complaint.pk).unaudited_update(  # test set-up
        status=Complaint.Status.AWAITING_CUSTOMER,
        paused_at=now - timedelta(days=1),
        acknowledged_at=now - timedelta(days=5),
        assessed_at=now - timedelta(days=4),
        respond_due_at=now - timedelta(days=2),
        close_due_at=now - timedelta(hours=2),
    )

    samples = scrape(client)

    assert value(samples, "qms_complaints_sla_breached") == 1
    assert value(samples, "qms_complaints_sla_breached_by_stage", stage="respond") == 1
    assert value(samples, "qms_complaints_sla_breached_by_stage", stage="close") == 0
