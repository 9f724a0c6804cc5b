"""The backup drill (#10, #23): `manage.py backup`, then `manage.py restore` into an empty database:
row counts, the audit chain head and the media checksums are identical, and the restored audit
trail verifies against the checkpoints the backup carries. Real pg_dump and pg_restore, real
files, real age encryption, real roles."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from psycopg2 import sql
from pyrage import x25519

from apps.audit import checkpoints
from apps.audit.tasks import sign_checkpoint_task
from apps.core import backup
from qms_portal import serving
from tests.complaints.factories import make_complaint
from tests.database_roles import APP_ROLE

pytestmark = pytest.mark.django_db(transaction=True)

PHOTO = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40


@pytest.fixture
def media(settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.BACKUP_ROOT = str(tmp_path / "backups")
    settings.AUDIT_CHECKPOINT_PATH = str(tmp_path / "media" / "audit" / "checkpoints.jsonl")
    identity = x25519.Identity.generate()
    (tmp_path / "identity.txt").write_text(f"{identity}\n")
    settings.BACKUP_RECIPIENTS = [str(identity.to_public())]
    settings.BACKUP_IDENTITY_FILE = str(tmp_path / "identity.txt")
    # No portal is running unless a test says so (make run's record of what it serves on).
    monkeypatch.setattr(serving, "PATH", tmp_path / "serving.json")
    return tmp_path


def _drop(params: dict) -> None:
    admin = psycopg2.connect(**{**params, "user": backup.current_database().get("user", ""), "dbname": "postgres"})
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(params["dbname"])))
    admin.close()


@pytest.fixture
def restored_databases():
    """Drop every database a test restored into."""
    created: list[dict] = []
    yield created
    for params in created:
        _drop(params)


@pytest.fixture
def empty_database(restored_databases):
    """A new empty database on the test server, owned by the server's owner role."""
    params = backup.create_database(backup.current_database(), f"{backup.current_database()['dbname']}_target")
    restored_databases.append(params)
    return params


def _execute(params: dict, statement, args=()) -> list[tuple]:
    db = psycopg2.connect(**params)
    db.autocommit = True
    try:
        with db.cursor() as cursor:
            cursor.execute(statement, args)
            return cursor.fetchall() if cursor.description else []
    finally:
        db.close()


@pytest.fixture
def role_without_createdb():
    name = f"{backup.current_database()['dbname']}_nocreatedb"[:63]
    admin = backup.current_database()
    _execute(admin, sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))
    _execute(admin, sql.SQL("CREATE ROLE {} LOGIN NOCREATEDB").format(sql.Identifier(name)))
    yield name
    _execute(admin, sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def _portal_with_records(quality_manager, staff) -> None:
    photo = SimpleUploadedFile("photo.png", PHOTO, content_type="image/png")
    make_complaint(qm=quality_manager, assignee=staff, status="investigating", attachments=[photo])
    make_complaint(qm=quality_manager, complainant_name="Ben", description="Second pump.")
    checkpoints.sign_head()


def _restore(folder: Path, into: dict, media_root: Path) -> None:
    call_command("restore", str(folder), "--into", backup.database_url(into), "--media-root", str(media_root))


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=django_settings.BASE_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "qms_portal.settings.test", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_backup_restores_into_an_empty_database_identically(media, quality_manager, staff, empty_database, capsys):
    _portal_with_records(quality_manager, staff)
    call_command("backup", "--to", str(media / "backup"))
    manifest = backup.read_manifest(media / "backup", identity_file=media / "identity.txt")
    assert manifest["row_counts"]["complaints_complaint"] == 2
    assert manifest["audit_head"]["seq"] > 0
    assert any(name.startswith("complaints/") for name in manifest["media"])

    _restore(media / "backup", empty_database, media / "restored-media")
    output = capsys.readouterr().out
    assert "row counts, audit chain head and media checksums match the backup" in output
    assert re.search(r"in \d+\.\d s", output)
    facts = backup.database_facts(empty_database)
    assert facts == {"row_counts": manifest["row_counts"], "audit_head": manifest["audit_head"]}
    restored = backup.media_checksums(media / "restored-media")
    assert {name: restored[name] for name in manifest["media"]} == manifest["media"]


def test_restore_refuses_a_database_that_is_not_empty(media, quality_manager, staff):
    _portal_with_records(quality_manager, staff)
    call_command("backup", "--to", str(media / "backup"))
    with pytest.raises(CommandError, match="not empty"):
        call_command("restore", str(media / "backup"), "--into", backup.database_url(backup.current_database()))


def test_restore_refuses_a_damaged_backup(media, quality_manager, staff):
    _portal_with_records(quality_manager, staff)
    call_command("backup", "--to", str(media / "backup"))
    [dump] = (media / "backup").glob("database.dump*")
    dump.write_bytes(dump.read_bytes()[:-10])
    with pytest.raises(CommandError, match="damaged"):
        call_command("restore", str(media / "backup"))


# (a) A backup of nothing, or of another database than the running portal's, is an error.


def test_backup_refuses_a_database_without_records(media):
    with pytest.raises(CommandError, match="holds no records"):
        call_command("backup", "--to", str(media / "backup"))
    assert not (media / "backup").exists()
    call_command("backup", "--to", str(media / "backup"), "--allow-empty")
    assert (media / "backup").is_dir()


def test_backup_refuses_an_unmigrated_database_without_a_traceback(media, empty_database):
    result = _manage(
        "backup",
        "--to",
        str(media / "backup"),
        env={
            "DATABASE_URL": backup.database_url(empty_database),
            "BACKUP_RECIPIENTS": django_settings.BACKUP_RECIPIENTS[0],
            "QMS_SERVING_STATE": str(media / "serving.json"),
        },
    )
    assert result.returncode != 0
    assert "no tables" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (media / "backup").exists()


def test_backup_refuses_another_database_than_the_running_portals(media, quality_manager, staff, empty_database):
    _portal_with_records(quality_manager, staff)
    serving.record(backup.database_url(empty_database, password=False))
    with pytest.raises(CommandError, match=r"running portal .* serves .*_target"):
        call_command("backup", "--to", str(media / "backup"))
    call_command("backup", "--to", str(media / "backup"), "--other-database")

    serving.record(backup.database_url(backup.current_database(), password=False))
    call_command("backup", "--to", str(media / "second"))


def test_the_serving_record_of_a_stopped_portal_counts_for_nothing(media):
    serving.record("postgresql://qms@db.internal/qms", pid=2**22 + 1)  # no such process
    assert serving.current() is None
    serving.record("postgresql://qms@db.internal/qms")
    assert serving.current()["database"] == {"host": "db.internal", "port": "5432", "dbname": "qms"}
    serving.clear()
    assert serving.current() is None


# (b) Restore runs as the owner, re-applies the application role's grants, never makes it an owner.


def test_restore_without_createdb_says_what_a_dba_runs(media, quality_manager, staff, role_without_createdb):
    _portal_with_records(quality_manager, staff)
    call_command("backup", "--to", str(media / "backup"))
    owner = {**backup.current_database(), "user": role_without_createdb}
    owner.pop("password", None)
    result = _manage(
        "restore",
        str(media / "backup"),
        env={
            "DATABASE_URL": backup.database_url(owner),
            "BACKUP_IDENTITY_FILE": str(media / "identity.txt"),
            "QMS_SERVING_STATE": str(media / "serving.json"),
        },
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "CREATEDB" in result.stderr
    assert re.search(rf'CREATE DATABASE "\w+_restored_\w+" OWNER "{role_without_createdb}"', result.stderr)


def test_restore_refuses_to_run_as_the_application_role(media, quality_manager, staff, empty_database):
    _portal_with_records(quality_manager, staff)
    call_command("backup", "--to", str(media / "backup"))
    as_app = {key: value for key, value in empty_database.items() if key != "password"} | {"user": APP_ROLE}
    with pytest.raises(CommandError, match="application role"):
        _restore(media / "backup", as_app, media / "restored-media")
    assert backup.database_facts(empty_database)["row_counts"] == {}


def test_restore_refuses_a_role_that_does_not_own_the_target(
    media, quality_manager, staff, empty_database, role_without_createdb
):
    _portal_with_records(quality_manager, staff)
    call_command("backup", "--to", str(media / "backup"))
    other = {key: value for key, value in empty_database.items() if key != "password"}
    other["user"] = role_without_createdb
    with pytest.raises(CommandError, match=rf"{role_without_createdb} does not own"):
        _restore(media / "backup", other, media / "restored-media")


def test_restore_grants_the_application_role_its_rights_again(media, quality_manager, staff, empty_database):
    _portal_with_records(quality_manager, staff)
    call_command("backup", "--to", str(media / "backup"))
    _restore(media / "backup", empty_database, media / "restored-media")
    as_app = {key: value for key, value in empty_database.items() if key != "password"} | {"user": APP_ROLE}
    assert _execute(as_app, "SELECT count(*) FROM complaints_complaint") == [(2,)]
    owners = _execute(empty_database, "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")
    assert owners == [(empty_database["user"],)]
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        _execute(as_app, "UPDATE audit_auditentry SET reason = 'rewritten'")


# (c) The backup carries its checkpoints; a restore records a signed "restored to entry N".


def _tamper(params: dict) -> None:
    """Edit one audit entry of the restored copy, as its owner could."""
    db = psycopg2.connect(**params)
    with db, db.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER USER")
        cursor.execute("UPDATE audit_auditentry SET reason = 'forged' WHERE seq = 1")
        cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER USER")
    db.close()


def test_an_older_backup_restores_and_verifies_against_its_own_checkpoints(
    media, quality_manager, staff, empty_database
):
    _portal_with_records(quality_manager, staff)
    call_command("backup", "--to", str(media / "backup"))
    head = backup.read_manifest(media / "backup", identity_file=media / "identity.txt")["audit_head"]
    # Two hourly checkpoints later the live log covers entries the backup does not hold.
    make_complaint(qm=quality_manager, complainant_name="Cleo")
    assert sign_checkpoint_task() > head["seq"]
    make_complaint(qm=quality_manager, complainant_name="Dan")
    assert sign_checkpoint_task() > head["seq"]

    _restore(media / "backup", empty_database, media / "restored-media")

    log = media / "restored-media" / "audit" / "checkpoints.jsonl"
    restored = checkpoints.read_log(log)
    assert all(checkpoint.seq <= head["seq"] for checkpoint in restored)
    marker = restored[-1]
    assert (marker.seq, marker.hash) == (head["seq"], head["hash"])
    assert marker.restored_from.startswith("backup ")
    assert marker.signature_problem(checkpoints.trusted_keys()) == ""
    assert backup.verify_restored_chain(empty_database, log).ok
    # The live log still describes the live chain, which the restored copy is not.
    assert not backup.verify_restored_chain(empty_database, Path(django_settings.AUDIT_CHECKPOINT_PATH)).ok

    _tamper(empty_database)
    result = backup.verify_restored_chain(empty_database, log)
    assert not result.ok
    assert result.first_bad_seq == 1


def test_a_forged_restore_note_does_not_verify(media, quality_manager, staff, empty_database):
    _portal_with_records(quality_manager, staff)
    call_command("backup", "--to", str(media / "backup"))
    _restore(media / "backup", empty_database, media / "restored-media")
    log = media / "restored-media" / "audit" / "checkpoints.jsonl"
    lines = log.read_text().splitlines()
    note = json.loads(lines[-1])
    note["restored_from"] = "backup 20200101T000000Z"
    log.write_text("\n".join([*lines[:-1], json.dumps(note)]) + "\n")
    assert "invalid signature" in backup.verify_restored_chain(empty_database, log).problem


# (d) Backups are private and encrypted to an age recipient; restore decrypts.


def test_backup_files_are_private_and_encrypted(media, quality_manager, staff):
    _portal_with_records(quality_manager, staff)
    call_command("backup", "--to", str(media / "backup"))
    folder = media / "backup"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = sorted(folder.iterdir())
    assert files
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert path.name.endswith(".age"), path
        content = path.read_bytes()
        assert content.startswith(b"age-encryption.org/v1\n"), path
        assert b"PGDMP" not in content
        assert PHOTO[8:200] not in content
        assert b"complaints_complaint" not in content


def test_backup_refuses_without_a_recipient(media, settings, quality_manager, staff):
    _portal_with_records(quality_manager, staff)
    settings.BACKUP_RECIPIENTS = []
    with pytest.raises(CommandError, match="BACKUP_RECIPIENTS"):
        call_command("backup", "--to", str(media / "backup"))
    assert not (media / "backup").exists()


def test_restore_needs_the_identity(media, settings, quality_manager, staff, empty_database):
    _portal_with_records(quality_manager, staff)
    call_command("backup", "--to", str(media / "backup"))
    settings.BACKUP_IDENTITY_FILE = ""
    with pytest.raises(CommandError, match="BACKUP_IDENTITY_FILE"):
        _restore(media / "backup", empty_database, media / "restored-media")
    stranger = media / "stranger.txt"
    stranger.write_text(f"{x25519.Identity.generate()}\n")
    settings.BACKUP_IDENTITY_FILE = str(stranger)
    with pytest.raises(CommandError, match="not encrypted to"):
        _restore(media / "backup", empty_database, media / "restored-media")
