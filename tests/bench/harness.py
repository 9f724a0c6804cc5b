"""Side-by-side measurement: subject and reference alternate (after a warm-up of each), the
ratio of their medians is the figure, the spread of the per-alternation ratios says whether
the machine was quiet enough to trust it.

Suites call `compare()` (or `bound()` for counts) and the results collect in `RUN`; the
terminal summary (conftest.py) writes `var/bench/<timestamp>/result.json` and `result.md`
and prints the table.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tests.bench.goals import GOALS, Goal

ROOT = Path(__file__).resolve().parents[2]
RESULTS_DIR = ROOT / "var" / "bench"


@dataclass
class Outcome:
    goal: str
    title: str
    kind: str
    threshold: float
    reason: str
    verdict: str  # pass, fail, noisy, error or "not built"
    subject: str = ""
    reference: str = ""
    ratio: float | None = None
    spread: tuple[float, float] | None = None
    subject_values: list[float] = field(default_factory=list)
    reference_values: list[float] = field(default_factory=list)
    notes: str = ""


@dataclass
class Run:
    started: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"))
    size: str = ""
    dataset: dict = field(default_factory=dict)
    outcomes: dict[str, Outcome] = field(default_factory=dict)

    def add(self, outcome: Outcome) -> Outcome:
        self.outcomes[outcome.goal] = outcome
        return outcome


RUN = Run()


def _timed(function: Callable[[], object]) -> float:
    """Seconds taken by `function` (what it returns is ignored)."""
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def _returned(function: Callable[[], float]) -> float:
    return float(function())


def alternate(
    subject: Callable[[], object],
    reference: Callable[[], object],
    *,
    repeats: int,
    warmup: bool = True,
    measure: Callable[[Callable], float] = _timed,
) -> tuple[list[float], list[float]]:
    """Run both `repeats` times (at least 3), ABBA order so a slow drift of the machine
    weighs on both alike. `measure` times a call, or takes the figure it returns."""
    repeats = max(3, repeats)
    if warmup:
        subject()
        reference()
    subjects: list[float] = []
    references: list[float] = []
    for index in range(repeats):
        if index % 2 == 0:
            subjects.append(measure(subject))
            references.append(measure(reference))
        else:
            references.append(measure(reference))
            subjects.append(measure(subject))
    return subjects, references


def verdict(goal: Goal, ratio: float, spread: tuple[float, float]) -> str:
    low, high = spread
    if goal.passes(low) != goal.passes(high):
        return "noisy"
    return "pass" if goal.passes(ratio) else "fail"


def compare(
    goal_id: str,
    subject: Callable[[], object],
    reference: Callable[[], object],
    *,
    unit: str = "s",
    repeats: int | None = None,
    notes: str = "",
    warmup: bool = True,
    self_timed: bool = False,
) -> Outcome:
    """Measure a "time" goal (the callables are timed) or a "rate" goal (the callables return
    items per second) and record the outcome. `self_timed`: the callables of a "time" goal
    return the seconds of their measured part themselves (they prepare untimed work first)."""
    goal = GOALS[goal_id]
    subjects, references = alternate(
        subject,
        reference,
        repeats=repeats or goal.repeats,
        warmup=warmup,
        measure=_returned if goal.kind == "rate" or self_timed else _timed,
    )
    ratio = statistics.median(subjects) / statistics.median(references)
    pairs = [s / r for s, r in zip(subjects, references, strict=True)]
    spread = (min(pairs), max(pairs))
    return RUN.add(
        Outcome(
            goal=goal.id,
            title=goal.title,
            kind=goal.kind,
            threshold=goal.threshold,
            reason=goal.reason,
            verdict=verdict(goal, ratio, spread),
            subject=_figure(statistics.median(subjects), unit),
            reference=_figure(statistics.median(references), unit),
            ratio=ratio,
            spread=spread,
            subject_values=subjects,
            reference_values=references,
            notes=notes,
        )
    )


def bound(goal_id: str, value: float, limit: float, *, unit: str = "", notes: str = "") -> Outcome:
    """Record a "bound" goal: `value` must stay <= `limit`."""
    goal = GOALS[goal_id]
    return RUN.add(
        Outcome(
            goal=goal.id,
            title=goal.title,
            kind=goal.kind,
            threshold=limit,
            reason=goal.reason,
            verdict="pass" if value <= limit else "fail",
            subject=f"{value:g}{unit}",
            reference=f"limit {limit:g}{unit}",
            notes=notes,
        )
    )


def error(goal_id: str, message: str) -> Outcome:
    goal = GOALS[goal_id]
    return RUN.add(Outcome(goal.id, goal.title, goal.kind, goal.threshold, goal.reason, "error", notes=message))


def _figure(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"
    return f"{value:,.0f} {unit}"


# --- reporting ---------------------------------------------------------------------------------


def outcomes() -> list[Outcome]:
    """Every goal in goals.py order: measured, or why not."""
    rows = []
    for goal in GOALS.values():
        if goal.id in RUN.outcomes:
            rows.append(RUN.outcomes[goal.id])
        else:
            status = "not built" if not goal.built else "not run"
            rows.append(Outcome(goal.id, goal.title, goal.kind, goal.threshold, goal.reason, status))
    return rows


def _threshold(outcome: Outcome) -> str:
    if outcome.kind == "bound":
        return f"<= {outcome.threshold:g}" if outcome.threshold else ""
    return f">= {outcome.threshold:g}x" if outcome.kind == "rate" else f"<= {outcome.threshold:g}x"


def table() -> str:
    dataset = RUN.dataset
    lines = [
        f"Benchmarks {RUN.started}, size {RUN.size or '-'}, data set {dataset.get('checksum', '-')[:16]}"
        f" ({dataset.get('answers', 0):,} answers in the main campaign, loaded in {dataset.get('seconds', 0):.0f} s),"
        f" {platform.node()} {os.cpu_count()} cores",
        "",
        "| goal | hot path | subject | reference | ratio | threshold | spread | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for o in outcomes():
        ratio = f"{o.ratio:.2f}x" if o.ratio is not None else ""
        spread = f"{o.spread[0]:.2f}-{o.spread[1]:.2f}x" if o.spread else ""
        title = o.title if o.verdict not in ("error", "not run") else f"{o.title} ({o.notes[:120]})"
        lines.append(
            f"| {o.goal} | {title} | {o.subject} | {o.reference} | {ratio} | {_threshold(o)} | {spread} | {o.verdict} |"
        )
    notes = [f"- {o.goal}: {o.notes}" for o in outcomes() if o.notes and o.verdict not in ("error", "not run")]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines)


def write() -> Path:
    folder = RESULTS_DIR / RUN.started
    folder.mkdir(parents=True, exist_ok=True)
    payload = {
        "started": RUN.started,
        "size": RUN.size,
        "dataset": RUN.dataset,
        "machine": {"node": platform.node(), "cpus": os.cpu_count(), "python": platform.python_version()},
        "goals": [asdict(o) for o in outcomes()],
    }
    (folder / "result.json").write_text(json.dumps(payload, indent=2, default=str) + "\n")
    (folder / "result.md").write_text(table() + "\n")
    return folder
