"""Builds one evidence pack in a fresh process and prints its record count and how far the
process's peak memory rose above its size before the build (G5-memory, bench_evidence.py).

    DJANGO_SETTINGS_MODULE=tests.bench.worker_settings python -m tests.bench.evidence_memory 2026-01-01 2026-03-31
"""

from __future__ import annotations

import json
import os
import resource
import sys
from datetime import date


def main(start: str, end: str) -> None:
    import django

    django.setup()
    from tests.bench.bench_evidence import _auditor, build_pack

    user = _auditor()
    with open("/proc/self/statm") as handle:
        before_kb = int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    records, seconds = build_pack(user, date.fromisoformat(start), date.fromisoformat(end))
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"records": records, "seconds": seconds, "growth_kb": max(0, peak_kb - before_kb)}))


if __name__ == "__main__":
    main(*sys.argv[1:3])
