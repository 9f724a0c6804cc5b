"""Installed in a worker's settings by tests that count scheduled runs: every task the worker
starts appends "<task name> <epoch seconds>" to the file named by BEAT_PROBE_FILE (one short
append per line, so the lines of concurrent worker processes never interleave)."""

from __future__ import annotations

import os
import time
from collections import defaultdict
from pathlib import Path

from celery.signals import task_prerun


def _record(sender=None, **kwargs) -> None:
    line = f"{sender.name} {time.time():.3f}\n".encode()
    descriptor = os.open(os.environ["BEAT_PROBE_FILE"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(descriptor, line)
    finally:
        os.close(descriptor)


def install() -> None:
    task_prerun.connect(_record, weak=False)


def runs(path: Path) -> dict[str, list[float]]:
    """Start times of each task's runs, in order."""
    found: dict[str, list[float]] = defaultdict(list)
    if path.exists():
        for line in path.read_text().splitlines():
            name, started = line.split()
            found[name].append(float(started))
    return {name: sorted(times) for name, times in found.items()}
