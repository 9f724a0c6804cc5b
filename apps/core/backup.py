"""Backup and restore: the database as a pg_dump custom-format archive, the media files (uploads,
evidence packs, report PDFs) as a tar, the signed audit checkpoints the backup was taken with,
and a manifest that proves a restore complete: the row count of every table, the audit chain's
head and every file's SHA-256.

    python manage.py backup [--to DIR] [--allow-empty] [--other-database]
    python manage.py restore DIR [--into DATABASE_URL] [--media-root DIR]

Every file is encrypted to the age public keys in BACKUP_RECIPIENTS and written 0600 in a 0700
folder: the machine that writes backups cannot read them, and a copy taken off it (README,
"Backup and restore") is useless without the identity kept elsewhere (BACKUP_IDENTITY_FILE,
brought in to restore). The plain files exist only in a private scratch folder while a backup
is written or restored.

A restore runs as the role that owns the portal's tables, never as the application role (it
would own the audit trail and could switch its protection off), grants the application role
its rights again, verifies the restored audit chain against the backup's own checkpoints and
starts the copy's checkpoint log with them and a signed "restored to entry N" line.

pg_dump and pg_restore come from the pgserver wheel (PostgreSQL 16 client tools), which read
and write archives of servers from 9.2 on, so the embedded server and a production one are
backed up the same way.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlencode, urlunsplit

import psycopg2
import pyrage
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, connections
from django.db.utils import load_backend
from psycopg2 import sql
from psycopg2.extensions import parse_dsn
from pyrage import x25519

from apps.audit import checkpoints as signed
from apps.audit.services import VerificationResult, verify_chain
from qms_portal import serving
from qms_portal.embedded import client_tool

MANIFEST = "manifest.json"
DATABASE_FILE = "database.dump"
MEDIA_FILE = "media.tar"
CHECKPOINTS_FILE = "checkpoints.jsonl"
FILES = [MANIFEST, DATABASE_FILE, MEDIA_FILE, CHECKPOINTS_FILE]
ENCRYPTED = ".age"
# Where a restored copy's checkpoint log goes when the configured log lies outside MEDIA_ROOT.
RESTORED_LOG = "audit/checkpoints.jsonl"


class RestoreError(Exception):
    """The backup cannot be taken or restored here, or the restored copy differs from the backup."""


BackupError = RestoreError


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
        facts = _facts(cursor)
    db.close()
    return facts


def _facts(cursor) -> dict:
    cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")
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
    return {"row_counts": counts, "audit_head": head}


def _app_roles(cursor) -> list[str]:
    """Roles granted read access to the audit trail without owning it: the application roles
    grant_app_role prepared (pg_dump --no-privileges leaves their grants out of the dump)."""
    cursor.execute(
        "SELECT DISTINCT r.rolname FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a "
        "JOIN pg_roles r ON r.oid = a.grantee "
        "WHERE c.oid = to_regclass('audit_auditentry') AND a.privilege_type = 'SELECT' AND a.grantee <> c.relowner "
        "ORDER BY 1"
    )
    return [row[0] for row in cursor.fetchall()]


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


# Encryption ------------------------------------------------------------------


def recipients() -> list[x25519.Recipient]:
    """The age public keys backups are encrypted to; none configured is an error, not a plain backup."""
    if not settings.BACKUP_RECIPIENTS:
        raise BackupError(
            "BACKUP_RECIPIENTS is not set: backups are encrypted to an age public key (age1...). Make a key "
            "pair on another machine (README, 'Backup and restore'), keep its identity file there, and set "
            "BACKUP_RECIPIENTS to the public key."
        )
    keys = []
    for value in settings.BACKUP_RECIPIENTS:
        try:
            keys.append(x25519.Recipient.from_str(value.strip()))
        except pyrage.RecipientError:
            raise BackupError(f"BACKUP_RECIPIENTS: {value[:12]}... is not an age public key (age1...).") from None
    return keys


def identities(path: str | Path | None = None) -> list[x25519.Identity]:
    """The age identities in the file BACKUP_IDENTITY_FILE names (age-keygen's format)."""
    path = path or settings.BACKUP_IDENTITY_FILE
    if not path:
        raise RestoreError(
            "BACKUP_IDENTITY_FILE is not set: name the age identity file whose public key the backup was "
            "encrypted to (brought to this machine for the restore only)."
        )
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as error:
        raise RestoreError(f"BACKUP_IDENTITY_FILE {path} cannot be read: {error.strerror}.") from None
    found = []
    for line in lines:
        if line.strip() and not line.startswith("#"):
            try:
                found.append(x25519.Identity.from_str(line.strip()))
            except pyrage.IdentityError:
                raise RestoreError(f"BACKUP_IDENTITY_FILE {path} holds a line that is not an age identity.") from None
    if not found:
        raise RestoreError(f"BACKUP_IDENTITY_FILE {path} holds no age identity.")
    return found


def _private_file(path: Path):
    """A new file only its owner may read, whatever the umask."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")


def _encrypt(source: Path, target: Path, keys: list[x25519.Recipient]) -> None:
    with source.open("rb") as plain, _private_file(target) as sealed:
        pyrage.encrypt_io(plain, sealed, keys)
        sealed.flush()
        os.fsync(sealed.fileno())


def _decrypt(source: Path, target: Path, keys: list[x25519.Identity]) -> None:
    try:
        with source.open("rb") as sealed, _private_file(target) as plain:
            pyrage.decrypt_io(sealed, plain, keys)
    except pyrage.DecryptError as error:
        if "no matching keys" in str(error).lower():
            raise RestoreError(
                f"{source} is not encrypted to the identity in BACKUP_IDENTITY_FILE: use the identity "
                "whose public key was in BACKUP_RECIPIENTS when the backup was taken."
            ) from None
        raise RestoreError(f"{source} cannot be decrypted ({error}): the backup is damaged.") from None
    except OSError as error:  # pyrage reports a cut or altered ciphertext as an I/O error
        raise RestoreError(f"{source} cannot be decrypted ({error}): the backup is damaged.") from None


# Backup ----------------------------------------------------------------------


@dataclass
class BackupResult:
    folder: Path
    seconds: float
    manifest: dict


def _check_serving(params: dict[str, str], other_database: bool) -> None:
    """Refuse to back up another database than the one `make run` serves on, unless asked to."""
    state = serving.current()
    if state is None or other_database:
        return
    if state["database"] != serving.identity(database_url(params, password=False)):
        raise BackupError(
            f"The running portal (make run, process {state['pid']}) serves {state['dsn']}, but this backup "
            f"would read {database_url(params, password=False)}. Export DATABASE_URL with the owner's URL "
            "of the portal's database and run again, or pass --other-database to back up this one anyway."
        )


def _check_not_empty(cursor, params: dict[str, str]) -> None:
    cursor.execute("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()")
    if cursor.fetchone()[0] == 0:
        raise BackupError(
            f"Database {params['dbname']} holds no tables (an unmigrated database, not the portal's): "
            "set DATABASE_URL to the portal's database, or pass --allow-empty to back it up anyway."
        )
    users = get_user_model()._meta.db_table
    cursor.execute("SELECT to_regclass(%s) IS NULL OR to_regclass('audit_auditentry') IS NULL", [users])
    if cursor.fetchone()[0]:
        raise BackupError(
            f"Database {params['dbname']} has no users or no audit trail table (not the portal's, or migrated "
            "only in part): set DATABASE_URL to the portal's database, or pass --allow-empty to back it up anyway."
        )
    cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(users)))
    user_count = cursor.fetchone()[0]
    cursor.execute("SELECT count(*) FROM audit_auditentry")
    if user_count == 0 and cursor.fetchone()[0] == 0:
        raise BackupError(
            f"Database {params['dbname']} holds no records (no users, no audit entries): set DATABASE_URL "
            "to the portal's database, or pass --allow-empty to back it up anyway."
        )


def _relative_log_path() -> str | None:
    """The checkpoint log's path inside MEDIA_ROOT, or None when it is kept elsewhere."""
    try:
        log = Path(settings.AUDIT_CHECKPOINT_PATH).resolve()
        return log.relative_to(Path(settings.MEDIA_ROOT).resolve()).as_posix()
    except ValueError:
        return None


def backup(folder: Path | None = None, *, allow_empty: bool = False, other_database: bool = False) -> BackupResult:
    """Dump the database, then the media files (so every file a dumped row names is there), with
    the checkpoints that vouch for the dumped chain; encrypt each file to BACKUP_RECIPIENTS.

    Refuses an unmigrated database or one without records unless `allow_empty`, and another
    database than the running portal's unless `other_database` (#23)."""
    started = time.monotonic()
    keys = recipients()
    params = current_database()
    _check_serving(params, other_database)
    if not allow_empty:
        with psycopg2.connect(**params) as db, db.cursor() as cursor:
            _check_not_empty(cursor, params)
        db.close()
    if _has_audit_table(params):
        # Signed now, so that the checkpoints carried cover the chain as far as it reaches now; a
        # log that cannot be written does not stop the backup (the restore signs its head anyway).
        with contextlib.suppress(OSError):
            signed.sign_head()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = Path(folder or Path(settings.BACKUP_ROOT) / stamp)
    folder.mkdir(mode=0o700, parents=True, exist_ok=False)
    folder.chmod(0o700)  # mkdir's mode is narrowed by the umask, never widened; set it exactly
    work = Path(tempfile.mkdtemp(prefix=".scratch-", dir=folder))
    try:
        manifest = _write_plain(work, params, stamp)
        for name in FILES:
            _encrypt(work / name, folder / f"{name}{ENCRYPTED}", keys)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return BackupResult(folder=folder, seconds=time.monotonic() - started, manifest=manifest)


def _has_audit_table(params: dict[str, str]) -> bool:
    with psycopg2.connect(**params) as db, db.cursor() as cursor:
        cursor.execute("SELECT to_regclass('audit_auditentry') IS NOT NULL")
        found = cursor.fetchone()[0]
    db.close()
    return found


def _write_plain(work: Path, params: dict[str, str], stamp: str) -> dict:
    """The backup's files in plain, in the private scratch folder `work`."""
    # One snapshot for the manifest's counts and the dump: rows written meanwhile by the running
    # portal are in neither, so the manifest describes exactly what was dumped.
    db = psycopg2.connect(**params)
    try:
        db.set_session(isolation_level="REPEATABLE READ", readonly=True)
        with db.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            facts = _facts(cursor)
            app_roles = _app_roles(cursor)
            dump = [client_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges"]
            dump += [f"--snapshot={snapshot}", f"--file={work / DATABASE_FILE}"]
            _run([*dump, database_url(params, password=False)], params)
    finally:
        db.close()
    head_seq = (facts["audit_head"] or {}).get("seq", 0)
    try:
        carried = [c for c in signed.read_log() if c.seq <= head_seq]
    except signed.CheckpointLogError as error:
        raise BackupError(f"The checkpoint log {signed.log_path()} cannot be read: {error}.") from None
    (work / CHECKPOINTS_FILE).write_text(
        "".join(json.dumps(c.as_record(), sort_keys=True) + "\n" for c in carried), encoding="utf-8"
    )
    media_root = Path(settings.MEDIA_ROOT)
    # The live checkpoint log goes on describing the live chain; the backup carries its own part.
    live_log = _relative_log_path()
    checksums = {name: digest for name, digest in media_checksums(media_root).items() if name != live_log}
    with tarfile.open(work / MEDIA_FILE, "w") as archive:
        for name in checksums:
            archive.add(media_root / name, arcname=name, recursive=False)
    manifest = {
        "format": 2,
        "created_at": stamp,
        "database": params["dbname"],
        **facts,
        "media": checksums,
        "database_sha256": media_checksums(work)[DATABASE_FILE],
        "checkpoints": len(carried),
        "app_roles": app_roles,
    }
    (work / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return manifest


def read_manifest(folder: Path, *, identity_file: str | Path | None = None) -> dict:
    """The manifest of the backup in `folder`, decrypted."""
    with tempfile.TemporaryDirectory(prefix="qms-manifest-") as work:
        _decrypt(Path(folder) / f"{MANIFEST}{ENCRYPTED}", Path(work) / MANIFEST, identities(identity_file))
        return json.loads((Path(work) / MANIFEST).read_text())


# Restore ---------------------------------------------------------------------


def _is_empty(params: dict[str, str]) -> bool:
    with psycopg2.connect(**params) as db, db.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()")
        empty = cursor.fetchone()[0] == 0
    db.close()
    return empty


def create_database(server: dict[str, str], name: str) -> dict[str, str]:
    """A new empty database on the server `server` names, owned by the role connecting."""
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
    except psycopg2.errors.InsufficientPrivilege:
        role = server.get("user") or "the connecting role"
        statement = sql.SQL("CREATE DATABASE {} OWNER {};").format(sql.Identifier(name), sql.Identifier(role))
        raise RestoreError(
            f"Role {role} may not create databases (it lacks the CREATEDB privilege). Ask a DBA to create the "
            f"empty target database, owned by the portal's owner role:\n    {statement.as_string(admin)}\n"
            "then restore into it with --into postgresql://<owner>@<host>/" + name + "."
        ) from None
    finally:
        admin.close()
    return {**server, "dbname": name}


def _check_owner(params: dict[str, str], manifest: dict) -> None:
    """Restore only as a role fit to own the portal's tables: pg_restore --no-owner makes the
    connecting role the owner of everything it creates, the audit trail included, and an owner
    can switch off the triggers that keep the trail append-only."""
    with psycopg2.connect(**params) as db, db.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, r.rolsuper, d.datdba = r.oid FROM pg_roles r, pg_database d "
            "WHERE r.rolname = current_user AND d.datname = current_database()"
        )
        role, superuser, owns = cursor.fetchone()
    db.close()
    if role in manifest.get("app_roles", []):
        raise RestoreError(
            f"{role} is the portal's application role: restoring as it would make it the owner of the audit "
            "trail, able to switch its protection off. Restore as the owner role (the one that runs migrate)."
        )
    if not (superuser or owns):
        raise RestoreError(
            f"Role {role} does not own database {params['dbname']}: restore as the role that owns it (the "
            "portal's owner role, the one that runs migrate); the application role must never own the tables."
        )


def _grant_app_roles(params: dict[str, str], roles: list[str]) -> None:
    """Give the application roles their rights on the restored tables again (the dump has no grants)."""
    # The command's module is the one place that knows what the application role may do.
    from apps.core.management.commands.grant_app_role import grant_app_role

    for role in roles:
        db = psycopg2.connect(**params)
        try:
            with db, db.cursor() as cursor:
                grant_app_role(cursor, role)
        except psycopg2.Error as error:
            raise RestoreError(
                f"The restored tables are in place, but the application role {role} could not be granted its "
                f"rights on them ({str(error).strip()}). Run as the owner: DATABASE_URL="
                f"{database_url(params, password=False)} python manage.py grant_app_role {role}"
            ) from None
        finally:
            db.close()


@dataclass
class RestoreResult:
    database: dict[str, str]
    media_root: Path
    seconds: float
    differences: list[str]
    has_audit_trail: bool
    checkpoint_log: Path | None = None
    verification: VerificationResult | None = None
    restored_to: signed.Checkpoint | None = None


def restore(
    folder: Path,
    *,
    into: dict[str, str] | None = None,
    media_root: Path | None = None,
    identity_file: str | Path | None = None,
) -> RestoreResult:
    """Restore `folder` into an empty database (a new one on this server unless `into` names one)
    and an empty media folder, compare everything with the manifest, verify the restored audit
    chain against the backup's checkpoints and start the copy's checkpoint log with them and a
    signed "restored to entry N" checkpoint."""
    started = time.monotonic()
    folder = Path(folder)
    keys = identities(identity_file)
    with tempfile.TemporaryDirectory(prefix="qms-restore-") as scratch:
        work = Path(scratch)
        for name in FILES:
            _decrypt(folder / f"{name}{ENCRYPTED}", work / name, keys)
        manifest = json.loads((work / MANIFEST).read_text())
        if media_checksums(work).get(DATABASE_FILE) != manifest["database_sha256"]:
            raise RestoreError(f"{folder / DATABASE_FILE} does not match its manifest: the backup is damaged.")
        carried = signed.read_log(work / CHECKPOINTS_FILE)
        media_root = Path(media_root or Path(settings.BACKUP_ROOT) / f"media_restored_{manifest['created_at']}")
        if media_root.exists() and any(media_root.iterdir()):
            raise RestoreError(f"{media_root} is not empty; restore the media files only into an empty folder.")
        if into is None:
            name = f"{manifest['database']}_restored_{manifest['created_at']}".lower()
            into = create_database(current_database(), name)
        elif not _is_empty(into):
            raise RestoreError("The target database is not empty; restore only into an empty database.")
        _check_owner(into, manifest)
        load = [client_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
        _run([*load, f"--dbname={database_url(into, password=False)}", str(work / DATABASE_FILE)], into)
        _grant_app_roles(into, manifest.get("app_roles", []))
        media_root.mkdir(parents=True, exist_ok=True)
        with tarfile.open(work / MEDIA_FILE) as archive:
            archive.extractall(media_root, filter="data")
    restored = database_facts(into)
    result = RestoreResult(
        database=into,
        media_root=media_root,
        seconds=0.0,
        differences=_differences(manifest, restored, media_checksums(media_root)),
        has_audit_trail="audit_auditentry" in restored["row_counts"],
    )
    if result.has_audit_trail and not result.differences:
        result.checkpoint_log = media_root / (_relative_log_path() or RESTORED_LOG)
        result.verification = verify_restored_chain(into, checkpoints=carried)
        if result.verification.ok and manifest["audit_head"]:
            head = manifest["audit_head"]
            try:
                result.restored_to = signed.write_restored_log(
                    result.checkpoint_log,
                    carried,
                    seq=head["seq"],
                    chain_hash=head["hash"],
                    restored_from=f"backup {manifest['created_at']} {manifest['database_sha256'][:16]}",
                )
            except FileExistsError:
                raise RestoreError(
                    f"{result.checkpoint_log} exists already (it came with the media files): move it away "
                    "and restore again into an empty database and folder."
                ) from None
    result.seconds = time.monotonic() - started
    return result


def _differences(manifest: dict, restored: dict, checksums: dict[str, str]) -> list[str]:
    differences = [
        f"{table}: {manifest['row_counts'].get(table)} rows in the backup, {restored['row_counts'].get(table)} restored"
        for table in sorted(set(manifest["row_counts"]) | set(restored["row_counts"]))
        if manifest["row_counts"].get(table) != restored["row_counts"].get(table)
    ]
    if restored["audit_head"] != manifest["audit_head"]:
        differences.append(f"audit chain head {restored['audit_head']} != {manifest['audit_head']}")
    differences += [
        f"media {name}: differs or is missing"
        for name in sorted(set(manifest["media"]) | set(checksums))
        if manifest["media"].get(name) != checksums.get(name)
    ]
    return differences


@contextlib.contextmanager
def _connection_to(database: dict[str, str]):
    """A Django connection alias for `database`, so the portal's own verifier can walk its chain."""
    alias = f"restored-{database['dbname']}"
    options = copy.deepcopy(connection.settings_dict)
    # Only the server's connection options: a role switch (the test suite's) is not the copy's.
    options["OPTIONS"] = {k: v for k, v in options.get("OPTIONS", {}).items() if k != "options"}
    options.update(
        NAME=database["dbname"],
        USER=database.get("user", ""),
        PASSWORD=database.get("password", ""),
        HOST=database.get("host", ""),
        PORT=database.get("port", ""),
    )
    # Registered on this thread only, not in the settings: the copy is no database of the portal's.
    connections[alias] = load_backend(options["ENGINE"]).DatabaseWrapper(options, alias)
    try:
        yield alias
    finally:
        connections[alias].close()
        del connections[alias]


def verify_restored_chain(
    database: dict[str, str], checkpoint_log: Path | None = None, *, checkpoints: list | None = None
) -> VerificationResult:
    """Walk the audit chain of `database` with the portal's verifier, against the checkpoints in
    `checkpoint_log` (or `checkpoints`), not the live log: that one describes the live chain."""
    if checkpoints is None:
        try:
            checkpoints = signed.read_log(checkpoint_log)
        except signed.CheckpointLogError as error:
            return VerificationResult(False, 0, None, str(error))
    with _connection_to(database) as alias:
        return verify_chain(checkpoints=checkpoints, using=alias)
