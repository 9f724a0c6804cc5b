"""G1 and G7 (issue #9): the portal behind gunicorn with the production settings, loaded from
127.0.0.1 by a Python load generator (threads with keep-alive connections).

- G1: the public feedback form (CSRF, honeypot, validation, service, audit entry, encrypted
  text, reference number, acknowledgement outbox) against a plain Django insert view on
  the same server, in accepted submissions per second; then a burst of 10,000 submissions
  must lose nothing (every 302 is a row, no 5xx), with p99 latency at most 5x p50.
- G7: the API as the image serves it (qms_portal/gunicorn.py) against gunicorn sync with 2
  workers, in requests per second on a feedback list page.
"""

from __future__ import annotations

import atexit
import http.client
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.db import connection

from apps.accounts import services as accounts
from apps.accounts.models import User
from apps.accounts.roles import Role
from apps.feedback.models import Feedback
from tests.bench import harness
from tests.bench.web_urls import TABLE
from tests.http_browser import Browser, free_port

pytestmark = pytest.mark.timeout(900)

IMAGE_OPTIONS = ["--config", "python:qms_portal.gunicorn"]  # the Dockerfile's command
CONCURRENCY = 6
SECONDS_PER_REPEAT = 5.0
BURST = 10_000
TOKEN_FIELD = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


class Server:
    """One gunicorn on 127.0.0.1 with the bench's production settings, always stopped."""

    def __init__(self, options: list[str], log_path):
        self.port = free_port()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.bench.web_settings",
            "TEST_DATABASE_NAME": settings.TEST_DATABASE_NAME,
            "PYTHONPATH": str(harness.ROOT),
        }
        command = [sys.executable, "-m", "gunicorn", "qms_portal.wsgi:application", *options]
        command += ["--bind", f"127.0.0.1:{self.port}", "--log-level", "warning"]
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path = log_path
        with log_path.open("w") as log:
            self.process = subprocess.Popen(
                command, cwd=harness.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        atexit.register(self.stop)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log_path.read_text()[-2000:]}")
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            try:
                conn.request("GET", "/bench/insert/")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.2)
            finally:
                conn.close()
        raise RuntimeError(f"gunicorn not ready after {timeout}s: {self.log_path.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@dataclass
class Load:
    seconds: float = 0.0
    statuses: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.statuses[302] + self.statuses[200]

    @property
    def rate(self) -> float:
        return self.accepted / self.seconds


def _submit_forms(port: int, path: str, fields: dict, *, count: int | None = None, seconds: float = 0) -> Load:
    """Form submissions to `path` from CONCURRENCY visitors (each fetches the form once for
    its CSRF token, then posts again and again): `count` of them, or for `seconds`."""
    load = Load()
    lock = threading.Lock()
    numbers = iter(range(count)) if count is not None else iter(int, 1)
    deadline = time.perf_counter() + seconds

    def visitor():
        browser = Browser(port)
        _status, page = browser.request("GET", path)
        token = TOKEN_FIELD.search(page).group(1).decode()
        try:
            while count is not None or time.perf_counter() < deadline:
                with lock:
                    number = next(numbers, None)
                if number is None:
                    return
                body = urlencode({**fields, "text": f"{fields['text']} #{number}", "csrfmiddlewaretoken": token})
                started = time.perf_counter()
                status, _page = browser.request("POST", path, body.encode(), "application/x-www-form-urlencoded")
                elapsed = time.perf_counter() - started
                with lock:
                    load.statuses[status] += 1
                    load.latencies.append(elapsed)
        finally:
            browser.conn.close()

    _run(visitor, load)
    return load


def _get_for(port: int, path: str, token: str, seconds: float) -> Load:
    load = Load()
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client():
        browser = Browser(port, {"Authorization": f"Bearer {token}"})
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                status, _body = browser.request("GET", path)
                elapsed = time.perf_counter() - started
                with lock:
                    load.statuses[status] += 1
                    load.latencies.append(elapsed)
        finally:
            browser.conn.close()

    _run(client, load)
    return load


def _run(target, load: Load) -> None:
    threads = [threading.Thread(target=target) for _ in range(CONCURRENCY)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    load.seconds = time.perf_counter() - started


@pytest.fixture(scope="module")
def plain_table(dataset):
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (id bigserial PRIMARY KEY, text text NOT NULL, "
            "rating smallint, created_at timestamptz NOT NULL)"
        )
    return TABLE


@pytest.fixture(scope="module")
def servers(plain_table):
    folder = harness.RESULTS_DIR / "logs"
    image = Server(IMAGE_OPTIONS, folder / "gunicorn-image.log")
    two = Server(["--workers", "2", "--worker-class", "sync"], folder / "gunicorn-2.log")
    yield {"image": image, "two": two}
    image.stop()
    two.stop()


FORM = {"text": "Bench feedback", "rating": "4", "submitter_name": "", "submitter_email": "", "website": ""}


def test_g1_public_submissions_keep_up_with_a_plain_insert_and_a_burst_loses_nothing(servers):
    port = servers["image"].port

    def subject() -> float:
        load = _submit_forms(port, "/feedback/", FORM, seconds=SECONDS_PER_REPEAT)
        assert set(load.statuses) == {302}, load.statuses
        return load.rate

    def reference() -> float:
        load = _submit_forms(
            port, "/bench/insert/", {"text": "Bench feedback", "rating": "4"}, seconds=SECONDS_PER_REPEAT
        )
        assert set(load.statuses) == {302}, load.statuses
        return load.rate

    outcome = harness.compare(
        "G1",
        subject,
        reference,
        unit=" req/s",
        notes=f"{SECONDS_PER_REPEAT:g} s of submissions per repeat from {CONCURRENCY} visitors, "
        f"gunicorn as the image runs it ({' '.join(IMAGE_OPTIONS)})",
    )

    before = Feedback.objects.count()
    burst = _submit_forms(port, "/feedback/", {**FORM, "text": "Burst feedback"}, count=BURST)
    stored = Feedback.objects.count() - before
    errors = sum(n for status, n in burst.statuses.items() if status >= 500)
    lost = burst.statuses[302] - stored
    harness.bound(
        "G1-burst",
        abs(lost) + errors,
        0,
        notes=f"{BURST:,} submissions in {burst.seconds:.1f} s: {dict(burst.statuses)}, {stored:,} rows stored",
    )
    p50 = statistics.median(burst.latencies)
    p99 = statistics.quantiles(burst.latencies, n=100)[98]
    harness.bound(
        "G1-latency",
        round(p99 / p50, 2),
        5,
        unit="x p50",
        notes=f"p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms over the burst",
    )
    assert (lost, errors) == (0, 0), harness.table()
    assert p99 <= 5 * p50, harness.table()
    assert outcome.verdict != "fail", harness.table()


def test_g7_the_images_server_config_serves_the_api_at_least_as_fast_as_two_sync_workers(servers):
    user = User.objects.filter(email="bench-api@example.com").first() or accounts.user_create(
        email="bench-api@example.com", full_name="Bench API", role=Role.QUALITY_MANAGER, actor=None, password="x"
    )
    token = accounts.api_token_issue(user=user, name="bench", actor=user).secret
    path = "/api/v1/feedback/?page_size=50"

    def rate(server: Server) -> float:
        load = _get_for(server.port, path, token, SECONDS_PER_REPEAT)
        assert set(load.statuses) == {200}, load.statuses
        return load.rate

    outcome = harness.compare(
        "G7",
        lambda: rate(servers["image"]),
        lambda: rate(servers["two"]),
        unit=" req/s",
        notes=f"GET {path} for {SECONDS_PER_REPEAT:g} s per repeat from {CONCURRENCY} clients",
    )
    assert outcome.verdict != "fail", harness.table()
