"""One soak run (#10): customers submit feedback and complaints through gunicorn on 127.0.0.1
while faults are injected; afterwards every accepted submission must be exactly one row, one
audit entry and one acknowledgement e-mail that reached the SMTP sink.

A customer behaves like a person at a browser: open the form, send it, and when the portal says
it is temporarily unavailable (503), send the same form again a moment later. Sometimes they
double-click: the same form is sent twice at once.
"""

from __future__ import annotations

import random
import re
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import psycopg2

from tests.http_browser import Browser
from tests.soak.services import Postgres, Processes, Redis, portal_env
from tests.soak.smtp_sink import SmtpSink

CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
KEY = re.compile(rb'name="submission_key" value="([0-9a-f]{32})"')
FORMS = {
    "feedback": ("/feedback/", {"text": "Soak feedback", "rating": "4"}),
    "complaint": ("/complaints/new/", {"complainant_name": "Soak Customer", "description": "Soak complaint"}),
}
DOUBLE_CLICK_SHARE = 0.05
RETRY_PAUSE = 0.5


@dataclass
class Fault:
    name: str  # "redis" or "postgres"
    at: float  # seconds into the run
    down_for: float
    answered_while_down: Counter = field(default_factory=Counter)
    recovered_after: float | None = None  # seconds from the restart to the next accepted submission


@dataclass
class Report:
    customers: int
    seconds: float
    accepted: dict[str, str] = field(default_factory=dict)  # submission key -> kind
    statuses: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    double_clicks: int = 0
    faults: list[Fault] = field(default_factory=list)
    rows: int = 0
    audit_entries: int = 0
    emails_recorded: int = 0
    emails_received: int = 0
    emails_duplicated: int = 0
    lost: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)  # rows nobody was told were accepted
    restarts: dict[str, int] = field(default_factory=dict)  # processes the supervisor started again
    drained_after: float = 0.0  # seconds from the end of the load to the last e-mail sent

    @property
    def server_errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 500 and status != 503)

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0

    def lines(self) -> list[str]:
        lines = [
            f"customers {self.customers}, {self.seconds:.0f} s: {len(self.accepted)} submissions accepted "
            f"({sum(1 for kind in self.accepted.values() if kind == 'complaint')} complaints), "
            f"{self.double_clicks} double clicks",
            f"rows {self.rows}, audit entries {self.audit_entries}, e-mails recorded {self.emails_recorded}, "
            f"received by the SMTP sink {self.emails_received} (duplicated {self.emails_duplicated})",
            f"lost {len(self.lost)}, unexpected rows {len(self.unexpected)}, 5xx other than 503: "
            f"{self.server_errors}, 503 while a dependency was down: {self.statuses[503]}",
            f"latency of a submission: p50 {statistics.median(self.latencies) * 1000:.0f} ms, "
            f"p95 {self.percentile(0.95) * 1000:.0f} ms, p99 {self.percentile(0.99) * 1000:.0f} ms",
        ]
        lines.append(f"processes restarted by the supervisor: {self.restarts or 'none'}")
        lines.append(f"every e-mail sent {self.drained_after:.1f} s after the load ended")
        for fault in self.faults:
            recovered = f"{fault.recovered_after:.1f} s" if fault.recovered_after is not None else "never"
            lines.append(
                f"fault: {fault.name} down {fault.down_for:.0f} s at {fault.at:.0f} s; answers meanwhile "
                f"{dict(fault.answered_while_down)}; accepted again {recovered} after the restart"
            )
        return lines


class _Clock:
    """Which fault, if any, is on now; and the start of the run."""

    def __init__(self):
        self.started = time.monotonic()
        self.down: Fault | None = None
        self.restarted: dict[str, float] = {}
        self.lock = threading.Lock()

    def now(self) -> float:
        return time.monotonic() - self.started


def _customer(port: int, report: Report, clock: _Clock, deadline: float, seed: int) -> None:
    chance = random.Random(seed)
    browser = Browser(port)
    try:
        while time.monotonic() < deadline:
            kind = chance.choice(sorted(FORMS))
            path, fields = FORMS[kind]
            status, page = _send(browser, "GET", path)
            if status != 200:
                time.sleep(RETRY_PAUSE)
                continue
            key = KEY.search(page).group(1).decode()
            body = {**fields, "csrfmiddlewaretoken": CSRF.search(page).group(1).decode(), "submission_key": key}
            if kind == "complaint":
                body["complainant_email"] = f"soak-{key[:12]}@example.org"
            else:
                body["submitter_email"] = f"soak-{key[:12]}@example.org"
            encoded = urlencode(body).encode()
            double = chance.random() < DOUBLE_CLICK_SHARE
            if double:
                threading.Thread(target=_double_click, args=(port, dict(browser.cookies), path, encoded)).start()
            while time.monotonic() < deadline + 120:
                started = time.perf_counter()
                status, _page = _send(browser, "POST", path, encoded)
                elapsed = time.perf_counter() - started
                with clock.lock:
                    report.statuses[status] += 1
                    report.latencies.append(elapsed)
                    if clock.down is not None:
                        clock.down.answered_while_down[status] += 1
                    if status == 302:
                        report.accepted[key] = kind
                        report.double_clicks += int(double)
                        for fault in report.faults:
                            restarted = clock.restarted.get(fault.name)
                            if restarted is not None and fault.recovered_after is None:
                                fault.recovered_after = time.monotonic() - restarted
                if status == 302 or (status != 503 and clock.down is None and status < 500):
                    break
                time.sleep(RETRY_PAUSE)  # an error page during an outage: the customer sends it again
    finally:
        browser.conn.close()


def _double_click(port: int, cookies: dict, path: str, body: bytes) -> None:
    twin = Browser(port, cookies=cookies)
    try:
        _send(twin, "POST", path, body)
    finally:
        twin.conn.close()


def _send(browser: Browser, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
    content_type = "application/x-www-form-urlencoded" if body else ""
    try:
        return browser.request(method, path, body, content_type)
    except OSError:
        browser.reconnect()
        return 0, b""


def _inject(fault: Fault, clock: _Clock, servers: dict) -> None:
    time.sleep(max(0.0, fault.at - clock.now()))
    with clock.lock:
        clock.down = fault
    servers[fault.name].stop()
    time.sleep(fault.down_for)
    servers[fault.name].start()
    with clock.lock:
        clock.down = None
        clock.restarted[fault.name] = time.monotonic()


def _account(report: Report, postgres: Postgres, sink: SmtpSink, *, drain_seconds: float = 180) -> None:
    """Wait for the worker to send what is queued, then count rows, entries and e-mails."""
    params = postgres.params
    started = time.monotonic()
    deadline = started + drain_seconds
    while True:
        with psycopg2.connect(**params) as db, db.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM core_outboundemail WHERE status <> 'sent'")
            pending = cursor.fetchone()[0]
        db.close()
        if pending == 0 or time.monotonic() > deadline:
            break
        time.sleep(1)
    report.drained_after = time.monotonic() - started
    time.sleep(2)  # the sink's last sessions
    with psycopg2.connect(**params) as db, db.cursor() as cursor:
        rows: dict[str, tuple[str, int]] = {}
        for table, kind in (("feedback_feedback", "feedback"), ("complaints_complaint", "complaint")):
            cursor.execute(f"SELECT submission_key, id FROM {table} WHERE submission_key IS NOT NULL")  # noqa: S608
            rows |= {key: (kind, pk) for key, pk in cursor.fetchall()}
        cursor.execute(
            "SELECT count(*) FROM audit_auditentry a JOIN django_content_type t ON t.id = a.content_type_id "
            "WHERE a.action = 'create' AND t.app_label IN ('feedback', 'complaints') "
            "AND t.model IN ('feedback', 'complaint')"
        )
        report.audit_entries = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM core_outboundemail WHERE status = 'sent' AND "
            "(idempotency_key LIKE 'feedback-ack:%%' OR idempotency_key LIKE 'complaint-ack:%%')"
        )
        report.emails_recorded = cursor.fetchone()[0]
    db.close()
    report.rows = len(rows)
    report.lost = sorted(set(report.accepted) - set(rows))
    report.unexpected = sorted(set(rows) - set(report.accepted))
    report.emails_received = sink.total
    report.emails_duplicated = sink.duplicated


def soak(
    folder: Path, source_database: dict[str, str], *, customers: int, seconds: float, faults: list[Fault]
) -> Report:
    """Start everything in `folder`, load it for `seconds` with `faults`, account, stop everything."""
    sink = SmtpSink()
    postgres = Postgres()
    redis = Redis(folder)
    processes = None
    try:
        postgres.copy_of(source_database)
        env = {**portal_env(folder, postgres, redis), "SOAK_SMTP_PORT": str(sink.port)}
        processes = Processes(folder, env)
        report = Report(customers=customers, seconds=seconds, faults=faults)
        clock = _Clock()
        deadline = time.monotonic() + seconds
        servers = {"redis": redis, "postgres": postgres}
        threads = [
            threading.Thread(target=_customer, args=(processes.port, report, clock, deadline, n))
            for n in range(customers)
        ]
        threads += [threading.Thread(target=_inject, args=(fault, clock, servers)) for fault in faults]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(seconds + 300)
        _account(report, postgres, sink)
        report.restarts = dict(processes.restarts)
        return report
    finally:
        if processes is not None:
            processes.stop()
        redis.stop()
        postgres.remove()
        sink.stop()


def problems(report: Report) -> list[str]:
    """What must never happen, as sentences; an empty list is a pass."""
    found = []
    if report.lost:
        found.append(f"{len(report.lost)} accepted submissions are not in the database")
    if report.unexpected:
        found.append(f"{len(report.unexpected)} rows were never confirmed to a customer")
    counts = {
        "accepted": len(report.accepted),
        "rows": report.rows,
        "audit entries": report.audit_entries,
        "e-mails recorded": report.emails_recorded,
        "e-mails received": report.emails_received,
    }
    if len(set(counts.values())) != 1:
        found.append(f"counts differ: {counts}")
    if report.emails_duplicated:
        found.append(f"{report.emails_duplicated} e-mails reached the sink twice")
    if report.server_errors:
        found.append(f"server errors: {dict(report.statuses)}")
    for fault in report.faults:
        if fault.recovered_after is None:
            found.append(f"no submission accepted after {fault.name} came back")
        odd = set(fault.answered_while_down) - {200, 302, 503}
        if odd:
            found.append(f"while {fault.name} was down: {dict(fault.answered_while_down)}")
        # Everything a submission is lives in PostgreSQL: a Redis outage delays acknowledgements,
        # it must not turn a customer away (#27).
        if fault.name == "redis" and (fault.answered_while_down[503] or not fault.answered_while_down[302]):
            found.append(f"refused or accepted nothing while redis was down: {dict(fault.answered_while_down)}")
    if not report.accepted:
        found.append("nothing was accepted")
    return found
