"""`make run` end to end: web, worker and beat come up together and Ctrl-C stops them all."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import psycopg2
import pytest
import redis
from django.conf import settings

from apps.core.tasks import HEARTBEAT_KEY
from qms_portal.env import redis_urls

ROOT = Path(__file__).resolve().parents[2]
# Both cases run `make run` on the launcher's Redis database 14: one xdist process runs them in turn.
pytestmark = [pytest.mark.worker, pytest.mark.xdist_group("launcher")]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback URL built above
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def scratch_database():
    """A database of its own on the test server, so the launcher's migrate and seed touch nothing else."""
    db = settings.DATABASES["default"]
    name = f"qms_launcher_{os.getpid()}"
    params = {"host": db["HOST"], "port": db["PORT"] or None, "user": db["USER"], "password": db["PASSWORD"]}
    admin = psycopg2.connect(dbname="postgres", **params)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    host = db["HOST"]
    if host.startswith("/"):  # the embedded server listens on a socket directory
        yield f"postgres://{db['USER']}@/{name}?host={host}"
    else:
        yield f"postgres://{db['USER']}:{db['PASSWORD']}@{host}:{db['PORT'] or 5432}/{name}"
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def _worker_pid(session: int) -> int | None:
    """The main process of the launcher's Celery worker (its pool processes are younger)."""
    found = subprocess.run(
        ["pgrep", "-o", "-s", str(session), "-f", "celery -A qms_portal worker"], capture_output=True, text=True
    ).stdout.split()
    return int(found[0]) if found else None


@pytest.mark.parametrize(
    ("stop", "crash_worker"),
    [
        # What Ctrl-C does in a terminal: SIGINT to the whole foreground process group.
        (lambda pid: os.killpg(pid, signal.SIGINT), False),
        # A service manager or `kill`: SIGTERM to the launcher alone, which must stop its children;
        # before that the worker dies (as when the broker connection drops) and is started again.
        (lambda pid: os.kill(pid, signal.SIGTERM), True),
    ],
    ids=["ctrl-c", "sigterm"],
)
def test_run_serves_the_portal_with_worker_and_beat_and_stops_cleanly(scratch_database, tmp_path, stop, crash_worker):
    port = _free_port()
    redis_url, _ = redis_urls(settings.REDIS_URL, db=14)
    redis.Redis.from_url(redis_url).delete(HEARTBEAT_KEY)  # only this run's worker may make it healthy
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}},
        "DATABASE_URL": scratch_database,
        "REDIS_URL": redis_url,
        "PORT": str(port),
        "WORKER_CANARY_SECONDS": "3",
        "QMS_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "qms_portal.settings.local",
    }
    # A file, not a pipe: nobody reads a pipe while the test waits, and a full pipe would block the children.
    log = (tmp_path / "launcher.log").open("w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "qms_portal.launcher", "run"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        text=True,
    )
    try:
        # Healthy with ?worker=1 means the beat scheduled the canary and a worker ran it.
        deadline = time.monotonic() + 180
        status, body = 0, {}
        while time.monotonic() < deadline and process.poll() is None:
            try:
                status, body = _get(f"http://127.0.0.1:{port}/healthz?worker=1")
            except OSError:
                status = 0
            if status == 200:
                break
            time.sleep(1)
        login = _get_page(f"http://127.0.0.1:{port}/accounts/login/")[0] if status == 200 else None
        roles = _connected_roles(scratch_database) if status == 200 else set()
        crashed = replaced = None
        if crash_worker and status == 200:
            crashed = _worker_pid(process.pid)
            os.kill(crashed, signal.SIGKILL)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and replaced in (None, crashed):
                time.sleep(0.5)
                replaced = _worker_pid(process.pid)
            running_after_crash = process.poll() is None
    finally:
        stop(process.pid)
        process.wait(timeout=60)
        log.seek(0)
        output = log.read()
        log.close()
    assert status == 200, f"{body}\n--- launcher output (end) ---\n{output[-4000:]}"
    assert login == 200
    # Web, worker and beat hold their connections as the application role, not the owner (#22 §6).
    database = urllib.parse.urlsplit(scratch_database).path.lstrip("/")
    assert roles == {f"{database}_app"}, roles
    if crash_worker:
        assert crashed is not None
        assert replaced not in (None, crashed), output[-3000:]
        assert running_after_crash
        assert "worker exited (code -9); starting it again." in output
    assert process.returncode == 0, output[-3000:]
    assert "Demo logins" in output
    assert "manager@example.com" in output
    with pytest.raises(urllib.error.URLError):
        _get_page(f"http://127.0.0.1:{port}/accounts/login/")
    # A process killed last is gone once init has reaped it.
    deadline, leftovers = time.monotonic() + 10, "?"
    while leftovers and time.monotonic() < deadline:
        time.sleep(0.2)
        leftovers = subprocess.run(["pgrep", "-s", str(process.pid)], capture_output=True, text=True).stdout
    assert leftovers == "", f"processes left running: {leftovers}"


def _connected_roles(url: str) -> set[str]:
    """Who the portal's processes are connected to their database as (this query's own
    connection and the server's background workers, autovacuum's among them, left out)."""
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT usename FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        roles = {row[0] for row in cursor.fetchall()}
    connection.close()
    return roles


def _get_page(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback URL
        return response.status, response.read().decode()
