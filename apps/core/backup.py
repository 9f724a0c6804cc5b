"""Backup and restore: the database as a pg_dump custom-format archive, the media files (uploads,
evidence packs, report PDFs, the audit checkpoint log) as a tar, and a manifest that proves a
restore complete: the row count of every table, the audit chain's head and every file's SHA-256.

    python manage.py backup [--to DIR]
    python manage.py restore DIR [--into DATABASE_URL] [--media-root DIR]

pg_dump and pg_restore come from the pgserver wheel (PostgreSQL 16 client tools), which read
and write archives of servers from 9.2 on, so the embedded server and a production one are
backed up the same way.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlencode, urlunsplit

import psycopg2
from django.conf import settings
from django.db import connection
from psycopg2 import sql
from psycopg2.extensions import parse_dsn

MANIFEST = "manifest.json"
DATABASE_FILE = "database.dump"
MEDIA_FILE = "media.tar"


class RestoreError(Exception):
    """The backup cannot be restored here, or the restored copy differs from the backup."""


def client_tool(tool: str) -> str:
    """Path of a PostgreSQL client tool (pg_dump, pg_restore, psql, initdb, pg_ctl) from the wheel."""
    # Found, not imported: importing pgserver starts nothing but warns about XDG_RUNTIME_DIR.
    package = importlib.util.find_spec("pgserver")
    return str(Path(package.origin).parent / "pginstall" / "bin" / tool)


def current_database() -> dict[str, str]:
    """libpq parameters of Django's default database (the test database during tests)."""
    options = connection.settings_dict
    params = {
        "dbname": options["NAME"],
        "user": options.get("USER") or "",
        "password": options.get("PASSWORD") or "",
        "host": options.get("HOST") or "",
        "port": str(options.get("PORT") or ""),
    }
    return {key: value for key, value in params.items() if value}


def parse_database_url(url: str) -> dict[str, str]:
    return {key: value for key, value in parse_dsn(url).items() if value}


def database_url(params: dict[str, str], *, password: bool = True) -> str:
    """A libpq URL of `params`; a Unix socket directory goes in ?host=, as the settings read it."""
    user = quote(params.get("user", ""), safe="")
    secret = quote(params.get("password", ""), safe="") if password else ""
    credentials = f"{user}:{secret}@" if secret else (f"{user}@" if user else "")
    host, query = params.get("host", ""), ""
    if host.startswith("/"):
        host, query = "", urlencode({"host": params["host"]})
    netloc = credentials + host + (f":{params['port']}" if params.get("port") and host else "")
    return urlunsplit(("postgresql", netloc, "/" + quote(params["dbname"], safe=""), query, ""))


def database_facts(params: dict[str, str]) -> dict:
    """Row count per table and the audit chain's head, read straight from PostgreSQL."""
    with psycopg2.connect(**params) as db, db.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename",
        )
        tables = [row[0] for row in cursor.fetchall()]
        counts = {}
        for table in tables:
            cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
            counts[table] = cursor.fetchone()[0]
        head = None
        if "audit_auditentry" in tables:
            cursor.execute("SELECT seq, hash FROM audit_auditentry ORDER BY seq DESC LIMIT 1")
            row = cursor.fetchone()
            head = {"seq": row[0], "hash": row[1]} if row else None
    db.close()
    return {"row_counts": counts, "audit_head": head}


def media_checksums(root: Path) -> dict[str, str]:
    checksums = {}
    if root.exists():
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            digest = hashlib.sha256()
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            checksums[path.relative_to(root).as_posix()] = digest.hexdigest()
    return checksums


def _run(command: list[str], params: dict[str, str]) -> None:
    """Run a PostgreSQL client tool; the password goes in its environment, never on its command line."""
    env = {**os.environ, "PGPASSWORD": params.get("password", "")}
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=env)  # noqa: S603
    if result.returncode != 0:
        raise RestoreError(f"{Path(command[0]).name} failed: {result.stderr.strip()[-2000:]}")


@dataclass
class BackupResult:
    folder: Path
    seconds: float
    manifest: dict


def backup(folder: Path | None = None) -> BackupResult:
    """Dump the database, then the media files (so every file a dumped row names is there)."""
    started = time.monotonic()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = Path(folder or Path(settings.BACKUP_ROOT) / stamp)
    folder.mkdir(parents=True, exist_ok=False)
    params = current_database()
    facts = database_facts(params)
    dump = [
        client_tool("pg_dump"),
        "--format=custom",
        "--no-owner",
        "--no-privileges",
        f"--file={folder / DATABASE_FILE}",
    ]
    _run([*dump, database_url(params, password=False)], params)
    media_root = Path(settings.MEDIA_ROOT)
    checksums = media_checksums(media_root)
    with tarfile.open(folder / MEDIA_FILE, "w") as archive:
        for name in checksums:
            archive.add(media_root / name, arcname=name, recursive=False)
    manifest = {
        "created_at": stamp,
        "database": params["dbname"],
        **facts,
        "media": checksums,
        "database_sha256": media_checksums(folder)[DATABASE_FILE],
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return BackupResult(folder=folder, seconds=time.monotonic() - started, manifest=manifest)


def _is_empty(params: dict[str, str]) -> bool:
    with psycopg2.connect(**params) as db, db.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()")
        empty = cursor.fetchone()[0] == 0
    db.close()
    return empty


def create_database(server: dict[str, str], name: str) -> dict[str, str]:
    """A new empty database on the server `server` names."""
    admin = psycopg2.connect(**{**server, "dbname": "postgres"})
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg2.errors.DuplicateDatabase:
        raise RestoreError(
            f"Database {name} already exists (an earlier restore of this backup?): drop it, or pass --into "
            "the URL of an empty database."
        ) from None
    finally:
        admin.close()
    return {**server, "dbname": name}


@dataclass
class RestoreResult:
    database: dict[str, str]
    media_root: Path
    seconds: float
    differences: list[str]
    has_audit_trail: bool


def restore(folder: Path, *, into: dict[str, str] | None = None, media_root: Path | None = None) -> RestoreResult:
    """Restore `folder` into an empty database (a new one on this server unless `into` names one)
    and an empty media folder, then compare everything with the manifest."""
    started = time.monotonic()
    folder = Path(folder)
    manifest = json.loads((folder / MANIFEST).read_text())
    if media_checksums(folder).get(DATABASE_FILE) != manifest["database_sha256"]:
        raise RestoreError(f"{folder / DATABASE_FILE} does not match its manifest: the backup is damaged.")
    if into is None:
        name = f"{manifest['database']}_restored_{manifest['created_at']}".lower()
        into = create_database(current_database(), name)
    elif not _is_empty(into):
        raise RestoreError("The target database is not empty; restore only into an empty database.")
    media_root = Path(media_root or Path(settings.BACKUP_ROOT) / f"media_restored_{manifest['created_at']}")
    if media_root.exists() and any(media_root.iterdir()):
        raise RestoreError(f"{media_root} is not empty; restore the media files only into an empty folder.")
    load = [client_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
    _run([*load, f"--dbname={database_url(into, password=False)}", str(folder / DATABASE_FILE)], into)
    media_root.mkdir(parents=True, exist_ok=True)
    with tarfile.open(folder / MEDIA_FILE) as archive:
        archive.extractall(media_root, filter="data")
    restored = database_facts(into)
    differences = [
        f"{table}: {manifest['row_counts'].get(table)} rows in the backup, {restored['row_counts'].get(table)} restored"
        for table in sorted(set(manifest["row_counts"]) | set(restored["row_counts"]))
        if manifest["row_counts"].get(table) != restored["row_counts"].get(table)
    ]
    if restored["audit_head"] != manifest["audit_head"]:
        differences.append(f"audit chain head {restored['audit_head']} != {manifest['audit_head']}")
    checksums = media_checksums(media_root)
    differences += [
        f"media {name}: differs or is missing"
        for name in sorted(set(manifest["media"]) | set(checksums))
        if manifest["media"].get(name) != checksums.get(name)
    ]
    return RestoreResult(
        database=into,
        media_root=media_root,
        seconds=time.monotonic() - started,
        differences=differences,
        has_audit_trail="audit_auditentry" in restored["row_counts"],
    )


def verify_restored_chain(database: dict[str, str]) -> subprocess.CompletedProcess:
    """Walk the restored audit chain with the portal's own verifier, connected to the copy."""
    env = {**os.environ, "DATABASE_URL": database_url(database)}
    return subprocess.run(
        [sys.executable, "manage.py", "verify_audit_trail"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
