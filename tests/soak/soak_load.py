"""`make soak` (#10): 50 customers submitting feedback and complaints for five minutes through
gunicorn on 127.0.0.1, with Redis and then PostgreSQL stopped for ten seconds each and started
again. SOAK_CUSTOMERS and SOAK_SECONDS change the load. Prints the figures for the closing note."""

from __future__ import annotations

import os

import pytest

from apps.core.backup import current_database
from tests.soak.run import Fault, problems, soak

CUSTOMERS = int(os.environ.get("SOAK_CUSTOMERS", "50"))
SECONDS = float(os.environ.get("SOAK_SECONDS", "300"))


@pytest.mark.timeout(1800)
def test_five_minutes_of_customers_through_two_outages_lose_and_duplicate_nothing(db, tmp_path):
    faults = [Fault("redis", at=SECONDS * 0.3, down_for=10), Fault("postgres", at=SECONDS * 0.65, down_for=10)]
    report = soak(tmp_path, current_database(), customers=CUSTOMERS, seconds=SECONDS, faults=faults)
    print("\n".join(["", "SOAK", *report.lines()]))
    assert problems(report) == []
