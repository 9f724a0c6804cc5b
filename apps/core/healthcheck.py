"""Container health checks for the worker and beat (docker-compose.yml), kept cheap:

    python -m apps.core.healthcheck beat     # beat's heartbeat in Redis is fresh
    python -m apps.core.healthcheck worker   # this host's worker answers a control ping

The worker is pinged through the broker's control channel rather than through its task
queue, so a worker busy with a long queue still counts as alive. Exit 0 when healthy, 1 with
a line saying why otherwise.
"""

from __future__ import annotations

import argparse
import socket
import sys


def beat() -> tuple[bool, str]:

    from apps.core.beat import BEAT_HEARTBEAT_KEY, BEAT_HEARTBEAT_MAX_AGE
    from apps.core.health import heartbeat_state
    from apps.core.redis_client import redis_client

    state = heartbeat_state(redis_client().get(BEAT_HEARTBEAT_KEY), BEAT_HEARTBEAT_MAX_AGE)
    return state["ok"], f"beat last seen {state['last_seen'] or 'never'}"


def worker(node: str, timeout: float) -> tuple[bool, str]:
    from qms_portal.celery import app

    replies = app.control.ping(destination=[node], timeout=timeout)
    answered = any(node in reply for reply in replies)
    return answered, f"worker {node} {'answered' if answered else 'did not answer'} within {timeout:g}s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apps.core.healthcheck")
    parser.add_argument("process", choices=["beat", "worker"])
    # Celery names a worker celery@<host name> unless told otherwise (the container's id in compose).
    parser.add_argument("--node", default=f"celery@{socket.gethostname()}", help="worker node name")
    parser.add_argument("--timeout", type=float, default=5.0)
    args = parser.parse_args(argv)

    import django

    django.setup()
    try:
        ok, message = beat() if args.process == "beat" else worker(args.node, args.timeout)
    except Exception as error:  # Redis or the broker unreachable: unhealthy, said in one line
        ok, message = False, f"{args.process} check failed: {type(error).__name__}: {error}"
    print(message)  # docker shows the check's output
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
