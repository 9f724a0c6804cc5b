"""The backup drill (#10): `manage.py backup`, then `manage.py restore` into an empty database:
row counts, the audit chain head and the media checksums are identical, and the restored audit
trail verifies with the portal's own verifier. Real pg_dump and pg_restore, real files."""

from __future__ import annotations

import json
import re

import psycopg2
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from psycopg2 import sql

from apps.core import backup
from tests.complaints.factories import make_complaint

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.BACKUP_ROOT = str(tmp_path / "backups")
    settings.AUDIT_CHECKPOINT_PATH = str(tmp_path / "media" / "audit" / "checkpoints.jsonl")
    return tmp_path


@pytest.fixture
def restored_databases():
    """Drop every database a test restored into."""
    created: list[dict] = []
    yield created
    for params in created:
        admin = psycopg2.connect(**{**params, "dbname": "postgres"})
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(params["dbname"])))
        admin.close()


def _portal_with_records(quality_manager, staff) -> None:
    photo = SimpleUploadedFile("photo.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40, content_type="image/png")
    make_complaint(qm=quality_manager, assignee=staff, status="investigating", attachments=[photo])
    make_complaint(qm=quality_manager, complainant_name="Ben", description="Second pump.")
    from apps.audit import checkpoints

    checkpoints.sign_head()


def test_a_backup_restores_into_an_empty_database_identically(
    media, quality_manager, staff, restored_databases, capsys
):
    _portal_with_records(quality_manager, staff)
    call_command("backup", "--to", str(media / "backup"))
    manifest = json.loads((media / "backup" / "manifest.json").read_text())
    assert manifest["row_counts"]["complaints_complaint"] == 2
    assert manifest["audit_head"]["seq"] > 0
    assert any(name.startswith("complaints/") for name in manifest["media"])
    assert "audit/checkpoints.jsonl" in manifest["media"]

    target = f"{backup.current_database()['dbname']}_drill"
    params = backup.create_database(backup.current_database(), target)
    restored_databases.append(params)
    call_command(
        "restore",
        str(media / "backup"),
        "--into",
        backup.database_url(params),
        "--media-root",
        str(media / "restored-media"),
    )
    output = capsys.readouterr().out
    assert "row counts, audit chain head and media checksums match the backup" in output
    assert re.search(r"in \d+\.\d s", output)
    facts = backup.database_facts(params)
    assert facts == {"row_counts": manifest["row_counts"], "audit_head": manifest["audit_head"]}
    assert backup.media_checksums(media / "restored-media") == manifest["media"]


def test_restore_refuses_a_database_that_is_not_empty(media, quality_manager, staff):
    _portal_with_records(quality_manager, staff)
    call_command("backup", "--to", str(media / "backup"))
    with pytest.raises(CommandError, match="not empty"):
        call_command("restore", str(media / "backup"), "--into", backup.database_url(backup.current_database()))


def test_restore_refuses_a_damaged_backup(media, quality_manager, staff):
    _portal_with_records(quality_manager, staff)
    call_command("backup", "--to", str(media / "backup"))
    dump = media / "backup" / "database.dump"
    dump.write_bytes(dump.read_bytes()[:-10])
    with pytest.raises(CommandError, match="damaged"):
        call_command("restore", str(media / "backup"))
