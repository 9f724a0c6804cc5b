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
            "public feedback form submissions vs a plain Django insert view, same gunicorn (req/s)",
            "rate",
            0.60,
            "Issue #9: CSRF, honeypot, validation, the service, its audit entry (one chain lock per "
            "submission), encryption, the reference number and the queued acknowledgement may cost "
            "at most 40% of a bare form-and-INSERT view's throughput.",
        ),
        Goal(
            "G1-burst",
            "submissions lost or failed in a burst of 10,000",
            "bound",
            0,
            "Issue #9: every accepted submission is a stored record and none gets a server error.",
        ),
        Goal(
            "G1-latency",
            "p99 latency of the burst as a multiple of its p50",
            "bound",
            5,
            "Issue #9: submissions queue on the audit chain's lock; the tail may not run away.",
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
            "dashboard figures from the roll-ups (analytics.selectors) vs raw SQL over the sources",
            "time",
            0.05,
            "Issue #9: the dashboard reads per-day roll-ups (a few rows per day and dimension) "
            "instead of aggregating every answer, complaint and feedback row; at size M that must "
            "be at least 20x faster than the plainest raw SQL giving the same numbers (asserted "
            "equal), or the roll-ups do not pay for their triggers and refresh task. At size S "
            "the sources are small enough to be cached and the ratio says little.",
            repeats=5,
        ),
        Goal(
            "G3-refresh",
            "incremental roll-up refresh after a day's changes vs full rebuild",
            "time",
            0.02,
            "Issue #9: the minute-by-minute refresh re-aggregates only the days the triggers "
            "marked; after a realistic day (200 complaints updated, 1,000 answers inserted) it "
            "must cost at most 2% of rebuilding everything, or the dashboard cannot stay current "
            "at size L.",
        ),
        Goal(
            "G4",
            "management-review compile (this and the previous period) vs raw SQL for the dashboard's figures",
            "time",
            2.0,
            "Issue #9: the review's inputs read the same roll-ups and KPI definitions as the dashboard; "
            "with the KPI table, trends, objectives and actions on top they may take at most twice "
            "the raw aggregates over the source tables, or the report would not scale with a year of data.",
        ),
        Goal(
            "G4-pdf",
            "management-review PDF vs a fixed WeasyPrint page (seconds per page)",
            "time",
            1.3,
            "Issue #9: charts, tables and page headers of the report may cost at most 30% more per "
            "page than WeasyPrint laying out a plain page with a table and one SVG.",
        ),
        Goal(
            "G5",
            "evidence pack of survey responses and feedback vs COPY -> SHA-256 -> ZIP (records/s)",
            "rate",
            0.50,
            "Issues #8/#9: the pack writes every record twice (CSV and JSON) plus the audit extract, "
            "index and signed manifest; the reference writes one CSV of the same rows. Half the "
            "reference's rate means our layers cost no more than the second copy itself.",
        ),
        Goal(
            "G5-memory",
            "growth of peak memory from a ~100k-record pack to one of every record",
            "bound",
            64,
            "Issue #9: rows must stream (COPY into the ZIP entry), so memory may not grow with the "
            "number of records; 64 MB allows for buffers and the interpreter's own noise.",
        ),
        Goal(
            "G6",
            "feedback API: a page at the deepest cursor vs page 1",
            "time",
            1.5,
            "Issue #9: keyset (cursor) pagination seeks by index, so the last page of the largest "
            "list may cost at most half again as much as the first; OFFSET pagination grows "
            "with the depth and fails this at size M.",
            repeats=5,
        ),
        Goal(
            "G6-invitations",
            "survey invitations API (the deepest list): the deepest cursor vs page 1",
            "time",
            1.5,
            "Issue #9 (a page at depth 4M): the same bound as G6 on the list with the most rows, "
            "where an OFFSET or a count would show most.",
            repeats=5,
        ),
        Goal(
            "G6-page",
            "feedback list page: the deepest cursor vs page 1",
            "time",
            1.5,
            "Issue #9: the same bound as G6 for the HTML list (filters, template and all); the "
            "page's keyset walks the index from the cursor, so depth must not show.",
            repeats=5,
        ),
        Goal(
            "G6-values",
            "feedback API list vs a bare .values() keyset JSON view (rows/s)",
            "rate",
            0.60,
            "Issue #9: DRF's view, permissions, filters, pagination and serializer may cost at "
            "most 40% of the throughput of the plainest Django view returning the same rows and "
            "columns (text decrypted in both); more means per-row queries or per-row overhead.",
            repeats=5,
        ),
        Goal(
            "G7",
            "the image's web server (qms_portal/gunicorn.py: gthread, a process per core x 1 thread, "
            "access log) vs gunicorn sync x2 on the API (req/s)",
            "rate",
            1.0,
            "Issue #9: the configuration we ship must not serve the API slower than the plain "
            "default; threaded sync workers serve our sync views (no async server: persistent "
            "connections do not help sync views under ASGI). Measured on 2 cores: at size M "
            "2x1 threads 0.99x and 2x2 0.88x in the same session; at size S 2x2 threads 0.91-1.18x "
            "over seven runs, 2x4 threads 0.95x, sync x3 (the previous image) 0.87x, and sync x2 "
            "itself, the reference's own config, 0.93-0.98x.",
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
