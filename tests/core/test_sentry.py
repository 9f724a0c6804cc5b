"""Error reports through the Sentry SDK when SENTRY_DSN is set, with personal data scrubbed (#23).

A real gunicorn and a real Celery worker report to a real HTTP server on loopback that accepts
Sentry envelopes, as sentry.io would; what arrives is read back and searched for what was planted.
"""

from __future__ import annotations

import gzip
import json
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import pytest

from tests.core.log_probe import PLANTED_EMAIL, gunicorn_server
from tests.workers import celery_workers, wait_for

PLANTED_NAME = "Winifred Quarrington"
PLANTED_COOKIE = "sessionid=cookie0secret0value"
PLANTED_TOKEN = "qms_1a2b3c4d_bearer0secret0value"
PROBE_SETTINGS = ['ROOT_URLCONF = "tests.core.log_probe"', 'CELERY_IMPORTS = ["tests.core.log_probe"]']


class Envelopes:
    """What a Sentry server received: each envelope's text, decompressed."""

    def __init__(self):
        self.texts: list[str] = []
        self.lock = threading.Lock()

    def add(self, text: str) -> None:
        with self.lock:
            self.texts.append(text)

    def events(self) -> list[dict]:
        found = []
        with self.lock:
            texts = list(self.texts)
        for text in texts:
            lines = text.split("\n")
            # header, then pairs of (item header, item payload)
            for header, payload in zip(lines[1::2], lines[2::2], strict=False):
                if header.strip() and json.loads(header).get("type") == "event":
                    found.append(json.loads(payload))
        return found

    def all_text(self) -> str:
        with self.lock:
            return "\n".join(self.texts)


@contextmanager
def sentry_server() -> Iterator[tuple[str, Envelopes]]:
    """A Sentry ingestion endpoint on 127.0.0.1: yields (DSN, received envelopes)."""
    received = Envelopes()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            encoding = self.headers.get("Content-Encoding", "")
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
            elif encoding == "br":
                import brotli

                body = brotli.decompress(body)
            received.add(body.decode("utf-8", "replace"))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://publickey@127.0.0.1:{server.server_address[1]}/1", received
    finally:
        server.shutdown()
        server.server_close()


def _error_events(received: Envelopes, text: str) -> list[dict]:
    return [event for event in received.events() if text in json.dumps(event.get("exception", {}))]


def _assert_nothing_planted(received: Envelopes) -> None:
    everything = received.all_text()
    for planted in (PLANTED_EMAIL, PLANTED_NAME, PLANTED_COOKIE, "cookie0secret0value", "bearer0secret0value"):
        assert planted not in everything, planted


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_page_error_reaches_sentry_without_the_personal_data_it_carried(tmp_path):
    with sentry_server() as (dsn, received), celery_workers(tmp_path, PROBE_SETTINGS, {}):
        with gunicorn_server(tmp_path, SENTRY_DSN=dsn) as url:
            body = urlencode({"email": PLANTED_EMAIL, "full_name": PLANTED_NAME}).encode()
            request = Request(  # noqa: S310 - our own loopback server
                f"{url}/log-probe/fail/?token=query0secret0value&contact={PLANTED_EMAIL}",
                data=body,
                headers={"Cookie": PLANTED_COOKIE, "Authorization": f"Bearer {PLANTED_TOKEN}"},
            )
            with pytest.raises(HTTPError) as answer:
                urlopen(request, timeout=30)  # noqa: S310 - our own loopback server
            assert answer.value.code == 500
            answer.value.close()
            assert wait_for(lambda: _error_events(received, "could not handle"), timeout=30)
        events = _error_events(received, "could not handle")

    event = events[0]
    assert event["exception"]["values"][-1]["type"] == "ValueError"
    assert "could not handle [email]" in event["exception"]["values"][-1]["value"]
    # The log line before the error came along as a breadcrumb, masked.
    crumbs = [crumb.get("message") or "" for crumb in event.get("breadcrumbs", {}).get("values", [])]
    assert any("failing for" in crumb for crumb in crumbs), crumbs
    # The request is described by its method, path and parameter names, never by what was typed.
    assert event["request"]["method"] == "POST"
    assert not event["request"].get("data")
    assert event["request"]["query_string"] == "token=[Filtered]&contact=[Filtered]"
    # The id on the log lines of the same request, to find them from the report.
    assert event["tags"]["request_id"] == event["breadcrumbs"]["values"][-1]["data"]["request_id"]
    assert "query0secret0value" not in received.all_text()
    _assert_nothing_planted(received)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_failed_task_reaches_sentry_without_the_personal_data_it_carried(tmp_path):
    from qms_portal.celery import app

    worker_log = tmp_path / "worker.log"
    with sentry_server() as (dsn, received), celery_workers(tmp_path, PROBE_SETTINGS, {"SENTRY_DSN": dsn}) as start:
        start("worker")
        assert wait_for(lambda: "ready" in worker_log.read_text(), timeout=60)
        app.send_task("tests.log_probe_fail", args=[PLANTED_EMAIL], kwargs={"full_name": PLANTED_NAME})
        assert wait_for(lambda: _error_events(received, "task could not reach"), timeout=30), worker_log.read_text()
        event = _error_events(received, "task could not reach")[0]

    assert event["exception"]["values"][-1]["type"] == "ValueError"
    assert "tests.log_probe_fail" in json.dumps(event)
    _assert_nothing_planted(received)


def test_a_malformed_dsn_stops_start_up_with_a_clear_error():
    import sentry_sdk
    from django.core.exceptions import ImproperlyConfigured

    from apps.core.sentry import sentry_init

    with pytest.raises(ImproperlyConfigured, match="SENTRY_DSN"):
        sentry_init(dsn="not-a-dsn", environment="test", release=None, traces_sample_rate=0.0)
    assert not sentry_sdk.get_client().is_active()


def test_what_the_sdk_still_collects_is_scrubbed_before_it_leaves():
    from apps.core.sentry import scrub_event

    event = {
        "user": {"email": PLANTED_EMAIL, "ip_address": "203.0.113.9"},
        "request": {
            "url": f"https://qms.example.com/complaints/track/{PLANTED_TOKEN}/?email={PLANTED_EMAIL}",
            "query_string": f"email={PLANTED_EMAIL}&page=2",
            "data": {"full_name": PLANTED_NAME, "message": f"write to {PLANTED_EMAIL}"},
            "cookies": {"sessionid": "cookie0secret0value"},
            "headers": {"Cookie": PLANTED_COOKIE, "Authorization": f"Bearer {PLANTED_TOKEN}", "User-Agent": "probe"},
        },
        "extra": {"celery-job": {"task_name": "core.send_email", "args": [PLANTED_NAME], "kwargs": {}}},
        "logentry": {"message": "sending to %s", "params": [PLANTED_EMAIL]},
    }
    scrubbed = json.dumps(scrub_event(event))
    for planted in (PLANTED_EMAIL, PLANTED_NAME, "cookie0secret0value", "bearer0secret0value", "203.0.113.9"):
        assert planted not in scrubbed, planted
    result = json.loads(scrubbed)
    assert result["request"]["data"] == {"full_name": "[Filtered]", "message": "[Filtered]"}
    assert result["request"]["query_string"] == "email=[Filtered]&page=[Filtered]"
    assert result["request"]["headers"] == {"User-Agent": "probe"}
    assert result["extra"]["celery-job"]["task_name"] == "core.send_email"


def test_an_event_that_cannot_be_scrubbed_is_not_sent():
    from apps.core.sentry import scrub_event

    assert scrub_event(["not", "an", "event"]) is None
