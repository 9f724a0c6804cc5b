"""The quick worker and broker drills in `make test` (#10): Redis restarted without persistence
with 500 survey invitations queued, and the worker killed at random moments of two review
reports. `make soak` runs them at full size (tests/soak/soak_load.py)."""

from __future__ import annotations

import pytest

from apps.core.backup import current_database
from tests.soak import drills

pytestmark = pytest.mark.timeout(600)


def test_a_lost_queue_and_killed_workers_lose_and_duplicate_nothing(db, tmp_path):
    process = drills.start(
        tmp_path, current_database(), {"redis_restart": {"recipients": 500}, "worker_kills": {"runs": 2}}
    )
    reports = drills.result(process, tmp_path, timeout=540)
    print("\n".join(["", *(line for report in reports.values() for line in report["lines"])]))
    assert {name: report["problems"] for name, report in reports.items()} == {"redis_restart": [], "worker_kills": []}
