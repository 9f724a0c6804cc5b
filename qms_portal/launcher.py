"""What `make run` and `make test` do after installing.

    python -m qms_portal.launcher run      # servers, migrate, demo data, web + worker + beat
    python -m qms_portal.launcher test [pytest args]
    python -m qms_portal.launcher services # start the embedded servers and leave them running
    python -m qms_portal.launcher manage backup|restore ...  # a manage.py command on those servers

Embedded PostgreSQL and Redis are started only for the URL that is unset,
and stopped on exit only if this process started them.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Mapping
from urllib.parse import quote, urlsplit, urlunsplit

from qms_portal import embedded, serving, system_packages
from qms_portal.env import BASE_DIR, embedded_url

PYTHON = sys.executable
# A worker or beat that exits is started again, unless it exited this often within this window.
RESTART_LIMIT, RESTART_WINDOW = 5, 60.0
DEMO_LOGINS = ["manager@example.com", "staff@example.com", "auditor@example.com"]


def _start_embedded() -> dict[str, bool]:
    want_db = not os.environ.get("DATABASE_URL")
    want_redis = not os.environ.get("REDIS_URL")
    if not (want_db or want_redis):
        return {}
    started = embedded.start(database=want_db, redis=want_redis)
    names = [name for name, wanted in (("PostgreSQL", want_db), ("Redis", want_redis)) if wanted]
    print(f"Embedded {' and '.join(names)} under {embedded.VAR_DIR} (var/embedded.json).", flush=True)
    return started


def _stop_embedded(started: dict[str, bool]) -> None:
    if started:
        embedded.stop(database=started.get("database", False), redis=started.get("redis", False))


def _manage(*args: str, settings: str) -> None:
    subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [PYTHON, "manage.py", *args], cwd=BASE_DIR, check=True, env={**os.environ, "DJANGO_SETTINGS_MODULE": settings}
    )


def _app_role_url(owner_url: str, settings: str) -> str:
    """Create or update the database's application role (grant_app_role: DML everywhere,
    append-only on the audit trail, not an owner) and return the URL to connect as it, so that
    web, worker and beat run with production's rights, not the owner's (#22 §6). A role per
    database, with a password drawn for this run; where the owner may not create roles, the
    portal runs as the owner and says so."""
    parts = urlsplit(owner_url)
    database = parts.path.lstrip("/") or "qms"
    role = f"{database}_app"[:63]
    password = secrets.token_urlsafe(24)
    environment = {**os.environ, "DATABASE_URL": owner_url, "QMS_APP_DB_PASSWORD": password}
    granted = subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [PYTHON, "manage.py", "grant_app_role", role, "--password-env", "QMS_APP_DB_PASSWORD"],
        cwd=BASE_DIR,
        env={**environment, "DJANGO_SETTINGS_MODULE": settings},
        capture_output=True,
        text=True,
        check=False,
    )
    if granted.returncode != 0:
        print(
            f"Could not prepare the application role {role} ({granted.stderr.strip()[-300:]}); "
            "web, worker and beat connect as the database owner.",
            file=sys.stderr,
            flush=True,
        )
        return owner_url
    host = parts.hostname or ""
    netloc = f"{quote(role)}:{quote(password)}@{f'[{host}]' if ':' in host else host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def children_env(environ: Mapping[str, str], *, settings: str, host: str, port: str) -> dict[str, str]:
    """The environment of web, worker and beat. Links in e-mails come from SITE_URL alone, so
    without one it is the address this run serves: an instance on port 8100 links to 8100."""
    env = {**environ, "DJANGO_SETTINGS_MODULE": settings}
    if not env.get("SITE_URL"):
        # A wildcard bind has no address to link to; a browser on this machine uses localhost.
        name = "localhost" if host in {"0.0.0.0", "::", ""} else host  # noqa: S104 - compared, not bound
        env["SITE_URL"] = f"http://{f'[{name}]' if ':' in name else name}:{port}"
    return env


def mail_destination(env: Mapping[str, str]) -> str:
    """Where the children's e-mails go, for the banner: the development settings write them as
    files under var/mail (qms_portal/settings/local.py) unless EMAIL_BACKEND names another."""
    if env.get("EMAIL_BACKEND") or env.get("DJANGO_SETTINGS_MODULE") != "qms_portal.settings.local":
        return f"sent by {env.get('EMAIL_BACKEND') or 'the configured EMAIL_BACKEND'}"
    return f"written as files to {embedded.VAR_DIR / 'mail'}"


def _spawn(command: list[str], env: dict[str, str]) -> subprocess.Popen:
    # A process group of its own, so that a worker's pool processes can be stopped with it even
    # when the worker itself died without stopping them.
    return subprocess.Popen(command, cwd=BASE_DIR, env=env, process_group=0)  # noqa: S603


def _kill_group(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):  # the whole group has exited
        os.killpg(process.pid, signal.SIGKILL)


def _terminate(processes: list[subprocess.Popen], timeout: float = 20) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in processes:
        remaining = max(0.1, deadline - time.monotonic())
        try:
            process.wait(remaining)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        _kill_group(process)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def run() -> int:
    # Ctrl-C, and `kill` or a service manager's SIGTERM, all stop everything cleanly
    # (also when started in the background, where a shell ignores SIGINT).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    settings = os.environ.get("DJANGO_SETTINGS_MODULE", "qms_portal.settings.local")
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    embedded.VAR_DIR.mkdir(parents=True, exist_ok=True)  # beat's schedule file lives there
    system_packages.ensure(["runtime"])
    started = _start_embedded()
    running: dict[str, subprocess.Popen] = {}
    try:
        # Migrations run as the owner; everything after them as the application role.
        _manage("migrate", "--no-input", settings=settings)
        owner_url = os.environ.get("DATABASE_URL") or embedded_url("database")
        # `make backup` in another terminal backs up this database, not whatever its shell names.
        serving.record(owner_url)
        env = {
            **children_env(os.environ, settings=settings, host=host, port=port),
            "DATABASE_URL": _app_role_url(owner_url, settings),
        }
        subprocess.run([PYTHON, "manage.py", "seed_demo"], cwd=BASE_DIR, check=True, env=env)  # noqa: S603
        celery = [PYTHON, "-m", "celery", "-A", "qms_portal"]
        commands = {
            "web": [PYTHON, "manage.py", "runserver", f"{host}:{port}", "--noreload"],
            "worker": [*celery, "worker", "--loglevel", "INFO", "--concurrency", "2", "--hostname", "worker@%h"],
            "beat": [*celery, "beat", "--loglevel", "INFO"],
        }
        for name, command in commands.items():
            running[name] = _spawn(command, env)
        print(
            f"\nQMS Portal: http://{host}:{port}/  (web, Celery worker and beat running; Ctrl-C stops all)\n"
            f"Demo logins, password demo-pass-2026: {', '.join(DEMO_LOGINS)}\n"
            f"E-mails are {mail_destination(env)}; links in them point at {env['SITE_URL']}\n",
            flush=True,
        )
        restarts: deque[float] = deque(maxlen=RESTART_LIMIT)
        while True:
            time.sleep(0.5)
            for name, process in running.items():
                if process.poll() is None:
                    continue
                # As Compose's restart policy does: a worker exits when the broker connection
                # drops, say. The web server, or one that keeps failing, stops everything.
                now = time.monotonic()
                if name == "web" or (len(restarts) == RESTART_LIMIT and now - restarts[0] < RESTART_WINDOW):
                    print(f"Stopping: {name} exited.", file=sys.stderr, flush=True)
                    return 1
                print(f"{name} exited (code {process.returncode}); starting it again.", file=sys.stderr, flush=True)
                restarts.append(now)
                _kill_group(process)
                running[name] = _spawn(commands[name], env)
    except KeyboardInterrupt:
        print("\nStopping web, worker and beat ...", flush=True)
        return 0
    finally:
        # A second Ctrl-C must not cut the clean-up short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _terminate(list(running.values()))
        serving.clear()
        _stop_embedded(started)
        if started:
            print("Embedded servers stopped.", flush=True)


def test(pytest_args: list[str]) -> int:
    system_packages.ensure(["runtime", "test"])
    started = _start_embedded()
    try:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "qms_portal.settings.test"}
        return subprocess.call([PYTHON, "-m", "pytest", *pytest_args], cwd=BASE_DIR, env=env)  # noqa: S603
    finally:
        _stop_embedded(started)


def manage(args: list[str]) -> int:
    started = _start_embedded()
    try:
        env = {"DJANGO_SETTINGS_MODULE": "qms_portal.settings.local", **os.environ}
        return subprocess.call([PYTHON, "manage.py", *args], cwd=BASE_DIR, env=env)  # noqa: S603
    finally:
        _stop_embedded(started)


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "run"
    if command == "run":
        return run()
    if command == "test":
        return test(argv[2:])
    if command == "manage":
        return manage(argv[2:])
    if command == "services":
        _start_embedded()
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
