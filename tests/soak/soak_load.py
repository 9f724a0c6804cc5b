"""`make soak` (#10): 50 customers submitting feedback and complaints for five minutes through
gunicorn on 127.0.0.1, with Redis and then PostgreSQL stopped for ten seconds each and started
again (SOAK_CUSTOMERS and SOAK_SECONDS change the load); meanwhile two beats run the production
schedule for ten minutes (SOAK_BEAT_SECONDS); then Redis is restarted with 500 survey invitations
queued (and again once 150 are sent) and the worker is killed during 20 review reports
(tests/soak/drills.py). Each on servers of its own. Prints the figures for the closing note."""

from __future__ import annotations

import os

import pytest

from apps.core.backup import current_database
from tests.soak import drills
from tests.soak.run import Fault, problems, soak

CUSTOMERS = int(os.environ.get("SOAK_CUSTOMERS", "50"))
SECONDS = float(os.environ.get("SOAK_SECONDS", "300"))
BEAT_SECONDS = float(os.environ.get("SOAK_BEAT_SECONDS", "600"))


@pytest.mark.timeout(1800)
def test_load_outages_lost_queues_killed_workers_and_two_beats_lose_and_duplicate_nothing(db, tmp_path):
    source = current_database()
    (tmp_path / "beats").mkdir()
    (tmp_path / "faults").mkdir()
    (tmp_path / "load").mkdir()
    beats = drills.start(tmp_path / "beats", source, {"two_beats": {"seconds": BEAT_SECONDS}})
    faults = [Fault("redis", at=SECONDS * 0.3, down_for=10), Fault("postgres", at=SECONDS * 0.65, down_for=10)]
    report = soak(tmp_path / "load", source, customers=CUSTOMERS, seconds=SECONDS, faults=faults)
    print("\n".join(["", "SOAK", *report.lines()]))
    process = drills.start(
        tmp_path / "faults",
        source,
        {
            "redis_restart": {"recipients": 500},
            "redis_restart:while_sending": {"recipients": 500, "while_sending": 150},
            "worker_kills": {"runs": 20},
        },
    )
    reports = drills.result(process, tmp_path / "faults", timeout=900)
    reports |= drills.result(beats, tmp_path / "beats", timeout=BEAT_SECONDS + 300)
    print("\n".join(["DRILLS", *(line for drill in reports.values() for line in drill["lines"])]))
    found = {name: drill["problems"] for name, drill in reports.items() if drill["problems"]}
    assert (problems(report), found) == ([], {})
