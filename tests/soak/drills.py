"""Worker, broker and beat drills (#10) on servers of their own (tests/soak/services.py):

- `redis_restart`: survey batches for N recipients queued in Redis, Redis restarted without
  persistence (the queue is gone), then the worker and beat: every recipient e-mailed once.
- `worker_kills`: the worker SIGKILLed at a random moment of each management-review report
  (before the message is taken, while compiling or rendering, while sending, after): each
  review ends with one report, one snapshot, one file and its e-mails once.
- `two_beats`: two beat processes on the production schedule for minutes: each job runs once
  per period (apps/core/beat.py).

The drills run in a child process whose Django works on the drill's PostgreSQL and Redis, so
that data is made and checked through the portal's own services and models; `start` / `result`
run them from a test. Each drill returns {"lines": [...], "problems": [...]}; no problems is a pass.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from tests.soak.services import ROOT, Postgres, Processes, Redis, portal_env
from tests.soak.smtp_sink import SmtpSink
from tests.workers import wait_for


def start(folder: Path, source_database: dict[str, str], drills: dict[str, dict]) -> subprocess.Popen:
    """Run `drills` ({name: options}) in a child process on servers of their own."""
    (folder / "drills.json").write_text(json.dumps({"source": source_database, "drills": drills}))
    with (folder / "drills.log").open("w") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.soak.drills", str(folder)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def result(process: subprocess.Popen, folder: Path, timeout: float) -> dict[str, dict]:
    try:
        process.wait(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    reports = folder / "reports.json"
    if not reports.exists():
        raise RuntimeError((folder / "drills.log").read_text()[-5000:])
    return json.loads(reports.read_text())


@dataclass
class Lab:
    folder: Path
    env: dict[str, str]
    redis: Redis
    sink: SmtpSink


def _worker_ready(timeout: float = 90) -> bool:
    from qms_portal.celery import app

    return bool(wait_for(lambda: app.control.ping(timeout=1), timeout))


def _queued_messages(lab: Lab) -> int:
    """Messages waiting in the queue, and those a worker holds unacknowledged (countdowns)."""
    import redis

    client = redis.Redis(port=lab.redis.port)
    return client.llen("celery") + client.hlen("unacked")


SURVEY_MESSAGE_ID = re.compile(r"^<survey-(\d+)-(\d+)@")


def judge_invitations(messages: Counter, invitation_ids: set[int]) -> tuple[Counter, list[str]]:
    """This campaign's messages at the sink, and what is wrong with them: each invitation must
    have arrived exactly once, as its first send. The drills share one sink, so messages of
    other campaigns (an earlier drill's) are not this drill's to count (#27)."""
    own: Counter = Counter()
    for message_id, count in messages.items():
        match = SURVEY_MESSAGE_ID.match(message_id)
        if match and int(match.group(1)) in invitation_ids:
            own[(int(match.group(1)), int(match.group(2)))] += count
    problems = []
    missing = invitation_ids - {invitation for invitation, _sequence in own}
    if missing:
        problems.append(f"{len(missing)} invitations never reached the sink")
    twice = sum(count - 1 for count in own.values() if count > 1)
    if twice:
        problems.append(f"{twice} invitation e-mails reached the sink more than once")
    resent = sum(count for (_invitation, sequence), count in own.items() if sequence > 0)
    if resent:
        problems.append(f"{resent} e-mails were later sends of an invitation sent once")
    return own, problems


def redis_restart(lab: Lab, *, recipients: int = 500, while_sending: int = 0) -> dict:
    """Redis restarted with the campaign's batches queued and none sent; or, with `while_sending`,
    once the worker has sent that many (the rest queued or held by the worker, and lost)."""
    from django.utils import timezone

    from apps.surveys.models import Delivery, Invitation
    from apps.surveys.services import dispatch
    from tests.customers.factories import CustomerFactory
    from tests.surveys.conftest import make_contact
    from tests.surveys.factories import CampaignFactory

    customer = CustomerFactory(segment="Enterprise")
    for _ in range(recipients):
        make_contact(customer)
    rate = 600 if while_sending else 6000  # while sending: 50 e-mails every five seconds
    campaign = CampaignFactory(next_run_at=timezone.now() - timedelta(seconds=1), send_rate_per_minute=rate)
    sent = Delivery.objects.filter(invitation__campaign=campaign, outcome="sent", sequence=0)
    processes = None
    began = time.monotonic()
    try:
        if while_sending:
            processes = Processes(lab.folder, lab.env, names=("worker", "beat"))
            wait_for(lambda: sent.count() >= while_sending, timeout=120)
        else:
            wave = dispatch.campaign_claim(campaign_id=campaign.pk)
            dispatch.wave_prepare(wave_id=wave.pk)  # plans the send batches on commit
        sent_before = sent.count()
        queued = _queued_messages(lab)
        lab.redis.stop()
        lab.redis.start()
        left = _queued_messages(lab)
        if processes is None:
            processes = Processes(lab.folder, lab.env, names=("worker", "beat"))
        wait_for(lambda: sent.count() >= recipients, timeout=240)
        took = time.monotonic() - began
        time.sleep(6)  # one more tick: time for anything sent twice to show
    finally:
        if processes is not None:
            processes.stop()
    invitations = Invitation.objects.filter(campaign=campaign)
    received, sink_problems = judge_invitations(lab.sink.messages, set(invitations.values_list("pk", flat=True)))
    figures = {
        "recipients": recipients,
        "sent before the restart": sent_before,
        "messages queued or held by the worker at the restart": queued,
        "messages left after it": left,
        "deliveries recorded": sent.count(),
        "invitations sent": invitations.filter(status=Invitation.Status.SENT).count(),
        "e-mails received": sum(received.values()),
        "distinct e-mails": len(received),
        "seconds to all sent": round(took, 1),
        "restarts": dict(processes.restarts),
    }
    problems = []
    if queued == 0 or left != 0:
        problems.append(f"the drill did not lose a queue: {figures}")
    if not (figures["deliveries recorded"] == figures["invitations sent"] == recipients):
        problems.append(f"not every recipient sent once: {figures}")
    problems += [f"{problem}: {figures}" for problem in sink_problems]
    when = f"after {while_sending} sent" if while_sending else "before any was sent"
    return {"lines": [f"redis restarted {when}: {figures}"], "problems": problems}


def worker_kills(lab: Lab, *, runs: int = 20, seed: int = 10) -> dict:
    from apps.accounts.models import Role
    from apps.core.models import OutboundEmail
    from apps.reviews import services
    from apps.reviews.models import ReviewJob, ReviewReport, ReviewSnapshot
    from tests.factories import UserFactory
    from tests.reviews.conftest import make_review

    chance = random.Random(seed)
    qm = UserFactory(email="drill-qm@example.com", role=Role.QUALITY_MANAGER)
    processes = Processes(lab.folder, lab.env, names=("worker", "beat"))
    runs_seen, reviews = [], []

    def review(number: int):
        first = date(2020, 1, 1) + timedelta(days=31 * number)
        first = first.replace(day=1)
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        made = make_review(qm, start=first, end=last, meeting=last + timedelta(days=5), title=f"Drill {number}")
        reviews.append(made)
        return made

    def request(made) -> tuple[ReviewJob, float]:
        job = services.review_request_compile(review_id=made.pk, actor=qm, distribute=True)
        return job, time.monotonic()

    def done(job) -> bool:
        return ReviewJob.objects.filter(pk=job.pk, status=ReviewJob.Status.DONE).exists()

    try:
        assert _worker_ready(), "the drill's worker did not answer"
        job, began = request(review(0))
        wait_for(lambda: done(job), timeout=120)
        baseline = time.monotonic() - began  # an undisturbed report, from request to done
        for number in range(1, runs + 1):
            job, began = request(review(number))
            time.sleep(chance.uniform(0, baseline * 1.2))
            job.refresh_from_db()
            state, killed_at = job.status, time.monotonic() - began
            processes.kill("worker")
            finished = wait_for(lambda job=job: done(job), timeout=180)
            job.refresh_from_db()
            runs_seen.append(
                {
                    "killed at": round(killed_at, 2),
                    "state": state,
                    "done": bool(finished),
                    "attempts": job.attempts,
                    "seconds to done": round(time.monotonic() - began, 1),
                }
            )
        pending = OutboundEmail.objects.filter(idempotency_key__startswith="review-report:").exclude(status="sent")
        wait_for(lambda: not pending.exists(), timeout=120)
        time.sleep(2)
    finally:
        processes.stop()

    problems = []
    for made in reviews:
        reports = ReviewReport.objects.filter(snapshot__review=made)
        folder = services.report_path(f"reviews/{made.reference}")
        files = sorted(path.name for path in folder.iterdir()) if folder.exists() else []
        report = reports.first()
        emails = OutboundEmail.objects.filter(
            idempotency_key__startswith=f"review-report:{report.pk if report else 0}:"
        )
        counts = {
            "reports": reports.count(),
            "snapshots": ReviewSnapshot.objects.filter(review=made).count(),
            "files": files,
            "e-mails sent": emails.filter(status="sent").count(),
        }
        wanted = {
            "reports": 1,
            "snapshots": 1,
            "files": [f"{made.reference}-v1.pdf"],
            "e-mails sent": len(made.recipients),
        }
        if counts != wanted:
            problems.append(f"{made.reference}: {counts}")
    if lab.sink.duplicated:
        problems.append(f"{lab.sink.duplicated} e-mails reached the sink twice")
    problems += [f"run {number} never finished: {run}" for number, run in enumerate(runs_seen, 1) if not run["done"]]
    states = dict(Counter(run["state"] for run in runs_seen))
    lines = [
        f"worker killed during {runs} reports (undisturbed report {baseline:.1f} s; killed while {states}); "
        f"{sum(run['done'] for run in runs_seen)} done, attempts {[run['attempts'] for run in runs_seen]}, "
        f"slowest recovery {max(run['seconds to done'] for run in runs_seen)} s; "
        f"e-mails received {lab.sink.total}, duplicated {lab.sink.duplicated}; restarts {dict(processes.restarts)}"
    ]
    return {"lines": lines, "problems": problems, "runs": runs_seen}


def _crontab_due(entry, since: float, until: float) -> int:
    """Minutes in [since, until] at which a crontab entry is due."""
    schedule = entry["schedule"]
    moment = datetime.fromtimestamp(since, UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    due = 0
    while moment.timestamp() <= until:
        due += (
            moment.minute in schedule.minute
            and moment.hour in schedule.hour
            and moment.isoweekday() % 7 in schedule.day_of_week
            and moment.day in schedule.day_of_month
            and moment.month in schedule.month_of_year
        )
        moment += timedelta(minutes=1)
    return due


def two_beats(lab: Lab, *, seconds: float = 600) -> dict:
    from celery.schedules import crontab
    from django.conf import settings

    from tests import beat_probe

    probe = lab.folder / "beat-runs"
    env = {**lab.env, "SOAK_SCHEDULE": "production", "BEAT_PROBE_FILE": str(probe)}
    processes = Processes(lab.folder, env, names=("worker", "beat", "beat-two"))
    logs = [lab.folder / "beat.log", lab.folder / "beat-two.log"]
    try:
        assert wait_for(lambda: all("core.canary" in log.read_text() for log in logs if log.exists()), 90)
        began = time.time()
        time.sleep(seconds)
        ended = time.time()
    finally:
        processes.stop()
    runs = beat_probe.runs(probe)
    refused = sum(log.read_text().count("already claimed by another beat") for log in logs)
    problems, table = [], []
    for name, entry in settings.SOAK_PRODUCTION_SCHEDULE.items():
        seen = len([moment for moment in runs.get(entry["task"], []) if began <= moment <= ended])
        if isinstance(entry["schedule"], crontab):
            expected = _crontab_due(entry, began, ended)
        else:
            expected = (ended - began) / entry["schedule"].total_seconds()
        table.append(f"{name} {seen}/{expected:.1f}")
        if not expected - 1 <= seen <= expected + 1:
            problems.append(f"{name}: {seen} runs in {ended - began:.0f} s, expected {expected:.1f}")
    if refused == 0:
        problems.append("no beat was ever refused a period: were both running?")
    lines = [
        f"two beats for {ended - began:.0f} s: runs/periods per job {', '.join(table)}; "
        f"sends refused to the second beat {refused}; restarts {dict(processes.restarts)}"
    ]
    return {"lines": lines, "problems": problems}


DRILLS = {"redis_restart": redis_restart, "worker_kills": worker_kills, "two_beats": two_beats}


def _main(folder: Path) -> None:
    spec = json.loads((folder / "drills.json").read_text())
    postgres, redis, sink = Postgres(), Redis(folder), SmtpSink()
    try:
        postgres.copy_of(spec["source"])
        env = {**portal_env(folder, postgres, redis), "SOAK_SMTP_PORT": str(sink.port), "SOAK_SCHEDULE": "faults"}
        os.environ.update(env)
        import django

        django.setup()
        lab = Lab(folder, env, redis, sink)
        # "name:variant" runs drill `name` again with other options.
        reports = {name: DRILLS[name.split(":")[0]](lab, **options) for name, options in spec["drills"].items()}
        (folder / "reports.json").write_text(json.dumps(reports, indent=1))
    finally:
        redis.stop()
        postgres.remove()
        sink.stop()


if __name__ == "__main__":
    _main(Path(sys.argv[1]))
