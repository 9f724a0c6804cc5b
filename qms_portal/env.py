"""The one place settings read the environment.

Every setting that comes from outside goes through `env()`, so the full list
of variables is greppable and production can refuse to start without the
secrets it must not default.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("QMS_VAR_DIR", BASE_DIR / "var"))
EMBEDDED_STATE = VAR_DIR / "embedded.json"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env(name: str, default: str | None = None, *, required: bool = False) -> str:
    value = os.environ.get(name)
    if value is None or (required and not value):
        if required:
            raise ImproperlyConfigured(f"Environment variable {name} must be set.")
        return default if default is not None else ""
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    if raw.strip().lower() in _TRUE:
        return True
    if raw.strip().lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {raw!r}.")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def embedded_url(kind: str) -> str:
    """URL of an embedded server started by `python -m qms_portal.embedded`.

    Development and test settings fall back to these when DATABASE_URL /
    REDIS_URL are unset, so `manage.py` in a second terminal reaches the same
    servers as `make run`.
    """
    try:
        state = json.loads(EMBEDDED_STATE.read_text())
    except FileNotFoundError:
        raise ImproperlyConfigured(
            f"{kind.upper()}_URL is not set and no embedded server is running "
            f"({EMBEDDED_STATE} is missing). Run `make services` (or `make run`), "
            f"or set {kind.upper()}_URL."
        ) from None
    return state[f"{kind}_url"]


def redis_urls(url: str, *, db: int | None = None) -> tuple[str, str]:
    """Return (redis-py URL, Celery broker URL) for one Redis server.

    redis-py spells a unix socket `unix:///path?db=N`; kombu spells it
    `redis+socket:///path?virtual_host=N`. TCP URLs are the same for both.
    `db` overrides the database number (tests use their own).
    """
    parts = urlsplit(url)
    if parts.scheme == "unix":
        query = parse_qs(parts.query)
        number = db if db is not None else int(query.get("db", ["0"])[0])
        client = f"unix://{parts.path}?{urlencode({'db': number})}"
        broker = f"redis+socket://{parts.path}?{urlencode({'virtual_host': number})}"
        return client, broker
    if parts.scheme in {"redis", "rediss"}:
        path = f"/{db}" if db is not None else (parts.path or "/0")
        rebuilt = parts._replace(path=path).geturl()
        return rebuilt, rebuilt
    raise ImproperlyConfigured(f"REDIS_URL must start with redis://, rediss:// or unix://, not {url!r}.")


def default_to_embedded_servers() -> None:
    """Point DATABASE_URL / REDIS_URL at the embedded servers when they are unset.

    Written to the environment (not only to settings) so that child
    processes, such as a Celery worker started by a test, use the same servers.
    """
    for kind in ("database", "redis"):
        name = f"{kind.upper()}_URL"
        if not os.environ.get(name):
            os.environ[name] = embedded_url(kind)
