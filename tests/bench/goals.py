"""Every benchmark threshold, each with the reason it has that value (issue #9).

A goal compares our code (the subject) with a reference doing the same essential work,
measured interleaved in the same run, so the machine's noise cancels out of the ratio.

- kind "time": ratio = subject seconds / reference seconds; passes when ratio <= threshold.
- kind "rate": ratio = subject per second / reference per second; passes when ratio >= threshold.
- kind "bound": a count that must stay <= threshold (no reference, no ratio).

Goals whose code does not exist yet keep their line here with `built=False`, so the table
says what is missing instead of silently leaving it out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Goal:
    id: str
    title: str
    kind: str  # "time", "rate" or "bound"
    threshold: float
    reason: str
    built: bool = True
    repeats: int = 3  # alternations of subject and reference after the warm-up (at least 3)

    def passes(self, value: float) -> bool:
        if self.kind == "rate":
            return value >= self.threshold
        return value <= self.threshold

    @property
    def comparison(self) -> str:
        return f">= {self.threshold:g}x" if self.kind == "rate" else f"<= {self.threshold:g}x"


GOALS: dict[str, Goal] = {
    goal.id: goal
    for goal in [
        Goal(
            "G1",
            "public feedback/complaint submission vs plain Django insert view",
            "rate",
            0.60,
            "Not built yet, issue #9: needs the gunicorn + load-generator harness.",
            built=False,
        ),
        Goal(
            "G2",
            "survey dispatch through Celery vs the same batches in-process (recipients/s)",
            "rate",
            0.60,
            "Issue #5: the broker, task messages and the worker may cost at most 40% of the "
            "throughput of calling the batch service in a loop; more means per-task overhead "
            "(a connection per task, one task per recipient) that grows with the campaign.",
            repeats=5,
        ),
        Goal(
            "G2-sessions",
            "PostgreSQL sessions on the bench database during Celery dispatch",
            "bound",
            0,  # set from the worker count at run time: 2 x workers + 2 (see session_limit)
            "Issue #9: each worker process keeps one connection (CELERY_DB_REUSE_MAX), plus the "
            "bench process and one spare; more means connections are opened per task.",
        ),
        Goal(
            "G3",
            "dashboard KPIs roll-up vs raw SQL aggregate",
            "time",
            0.05,
            "Not built yet, issue #9: needs the dashboard roll-ups.",
            built=False,
        ),
        Goal(
            "G4",
            "management-review compile + PDF vs raw SQL / fixed reference page",
            "time",
            2.0,
            "Not built yet, issue #9: needs the management-review app.",
            built=False,
        ),
        Goal(
            "G5",
            "evidence export vs COPY -> SHA-256 -> ZIP",
            "rate",
            0.50,
            "Not built yet, issue #9: needs the evidence export.",
            built=False,
        ),
        Goal(
            "G6",
            "list endpoints: deep page vs page 1, API list vs .values() keyset",
            "time",
            1.5,
            "Not built yet, issue #9: needs the list endpoints on bench data.",
            built=False,
        ),
        Goal(
            "G7",
            "production web server vs gunicorn sync, 2 workers",
            "rate",
            1.0,
            "Not built yet, issue #9: needs the server harness.",
            built=False,
        ),
        Goal(
            "S1",
            "survey results NPS/CSAT/CES (results.scores) vs hand-written SQL aggregate",
            "time",
            1.5,
            "Issue #5: the results page's figures come from one aggregate query; the ORM, the "
            "filters and the dataclasses around it may add at most half the time of the bare "
            "SQL aggregate over the same answers.",
            repeats=7,
        ),
    ]
}

# Celery worker processes (prefork concurrency) the dispatch suite starts. One, so subject
# and reference get the same share of the two cores and the ratio shows Celery's own cost
# (BENCH_WORKERS=2 shows the session bound with the concurrency `make run` uses).
DISPATCH_WORKERS = int(os.environ.get("BENCH_WORKERS", "1"))


def session_limit(workers: int) -> int:
    return 2 * workers + 2
