"""Real `celery worker` processes for tests that kill one: started on this test database with
extra settings lines, tracked, and always stopped."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def wait_for(condition: Callable, timeout: float = 60, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    return condition()


@contextmanager
def celery_workers(folder: Path, settings_lines: list[str], env: dict[str, str]) -> Iterator[Callable]:
    """Yields start(name, beat=False, **extra_env) -> Popen: a worker (or with beat=True a beat,
    its schedule file folder/<name>-schedule); its log is folder/<name>.log."""
    db_name = connection.settings_dict["NAME"]
    (folder / "worker_settings.py").write_text(
        "from qms_portal.settings.test import *  # noqa: F403\n"
        f"DATABASES['default']['NAME'] = {db_name!r}  # noqa: F405\n" + "".join(f"{line}\n" for line in settings_lines)
    )
    base_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "worker_settings",
        "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT)]),
        **env,
    }
    processes: list[subprocess.Popen] = []

    def start(name: str, *, beat: bool = False, **extra_env: str) -> subprocess.Popen:
        command = [sys.executable, "-m", "celery", "-A", "qms_portal"]
        if beat:
            command += ["beat", "--loglevel", "INFO", "--schedule", str(folder / f"{name}-schedule")]
        else:
            command += ["worker", "--pool", "solo", "--loglevel", "INFO", "--hostname", f"{name}-{os.getpid()}@%h"]
            command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
        # The child keeps its own copy of the log's descriptor; ours is closed at once.
        with (folder / f"{name}.log").open("w") as log:
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                env={**base_env, **extra_env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        processes.append(process)
        return process

    try:
        yield start
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


def redeliver_unacknowledged(task_name: str, first_arg) -> int:
    """Put the unacknowledged `task_name` messages whose first argument is `first_arg` back into
    their queue, as Redis does after the visibility timeout; returns how many."""
    from qms_portal.celery import app

    restored = 0
    with app.connection() as broker:
        channel = broker.default_channel
        for tag, payload in channel.client.hgetall(channel.unacked_key).items():
            message = json.loads(payload)[0]
            args = json.loads(base64.b64decode(message["body"]))[0]
            if message["headers"]["task"] == task_name and args[0] == first_arg:
                channel.qos.restore_by_tag(tag, channel.client)
                restored += 1
    return restored
