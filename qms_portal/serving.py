"""Which database the running portal serves on, so that `make backup` backs up that one (#23).

`make run` records the owner's database URL (without its password) here while it runs, and
removes it on exit. A second terminal that lacks DATABASE_URL would otherwise reach the embedded
server and back up an empty database while the portal writes to another one; the backup command
compares the two and refuses when they differ.

Only host, port and database name are compared: the portal's processes connect as the
application role, the backup as the owner, and both name the same database.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from psycopg2.extensions import parse_dsn

from qms_portal.embedded import pid_alive
from qms_portal.env import VAR_DIR

PATH = Path(os.environ.get("QMS_SERVING_STATE") or VAR_DIR / "serving.json")


def identity(url: str) -> dict[str, str]:
    """The part of a database URL that names the database: host (or socket folder), port, name."""
    params = parse_dsn(url)
    # libpq's defaults filled in, so that ":5432" written out or left out names the same server.
    port = str(params.get("port") or "5432")
    return {"host": params.get("host", ""), "port": port, "dbname": params.get("dbname", "")}


def _without_password(url: str) -> str:
    params = parse_dsn(url)
    params.pop("password", None)
    return " ".join(f"{key}={value}" for key, value in params.items())


def record(database_url: str, *, pid: int | None = None) -> None:
    """Note that process `pid` (this one by default) serves the portal on `database_url`."""
    PATH.parent.mkdir(parents=True, exist_ok=True)
    state = {"pid": pid or os.getpid(), "database": identity(database_url), "dsn": _without_password(database_url)}
    PATH.write_text(json.dumps(state, indent=2))


def clear() -> None:
    PATH.unlink(missing_ok=True)


def current() -> dict | None:
    """The record of a portal that is running now; None when none is (or it died unrecorded)."""
    with contextlib.suppress(FileNotFoundError, ValueError):
        state = json.loads(PATH.read_text())
        if isinstance(state, dict) and pid_alive(int(state.get("pid", 0))):
            return state
    return None
