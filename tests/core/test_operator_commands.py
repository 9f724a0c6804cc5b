"""What an operator meets before the portal serves anything (#23): manage.py and its settings,
seed_demo next to real records, generate_signing_key before any key exists, grant_app_role
without CREATEROLE, and which containers get the database owner's password."""

import base64
import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from psycopg2 import sql

from apps.accounts.models import User
from apps.dashboard.management.commands.seed_demo import DEMO_PASSWORD, DEMO_USERS
from tests.core.test_settings import PRODUCTION_ENV
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]
DEMO_EMAILS = [email for email, _name, _role in DEMO_USERS]


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False
    )


def _bare_env(**extra: str) -> dict[str, str]:
    """An operator's shell: no settings module, no secrets, only what `extra` exports."""
    return {"PATH": os.environ["PATH"], "HOME": str(Path.home()), "LANG": "C.UTF-8", **extra}


# manage.py ----------------------------------------------------------------------------------


@pytest.mark.parametrize("settings_module", [None, ""], ids=["unset", "empty"])
def test_manage_py_refuses_to_guess_its_settings_and_says_how(settings_module):
    # The incident: only DATABASE_URL exported, and seed_demo wrote demo logins into a copy of
    # production data under the development settings. Nothing listens on port 9.
    env = _bare_env(DATABASE_URL="postgres://qms@127.0.0.1:9/qms")
    if settings_module is not None:
        env["DJANGO_SETTINGS_MODULE"] = settings_module
    result = _run(["manage.py", "seed_demo"], env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    for advice in ("DJANGO_SETTINGS_MODULE", "qms_portal.settings.production", "qms_portal.settings.local", "make run"):
        assert advice in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("environment", "args"),
    [({"DJANGO_SETTINGS_MODULE": "qms_portal.settings.test"}, []), ({}, ["--settings", "qms_portal.settings.test"])],
    ids=["environment", "option"],
)
def test_manage_py_runs_once_told_its_settings(environment, args):
    result = _run(["manage.py", "check", *args], _bare_env(**environment))
    assert result.returncode == 0, result.stderr


def test_every_place_that_runs_manage_py_outside_the_launcher_names_its_settings():
    for path in ("Makefile", ".ci/run"):
        for line in (ROOT / path).read_text().splitlines():
            if "manage.py" in line and not line.lstrip().startswith("#"):
                assert "DJANGO_SETTINGS_MODULE=" in line, f"{path}: {line}"
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.index("DJANGO_SETTINGS_MODULE=qms_portal.settings.production") < dockerfile.index("manage.py")
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name, service in compose["services"].items():
        if "manage.py" in str(service.get("command", "")):
            assert service["environment"]["DJANGO_SETTINGS_MODULE"] == "qms_portal.settings.production", name


# seed_demo ----------------------------------------------------------------------------------


def _a_user():
    UserFactory(email="real.person@example.org")


def _a_customer():
    from tests.customers.factories import CustomerFactory

    CustomerFactory(name="Real Customer GmbH")


def _a_complaint():
    from tests.complaints.factories import make_complaint

    make_complaint()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("make_record", "named"),
    [(_a_user, "users"), (_a_customer, "customers"), (_a_complaint, "complaints")],
    ids=["user", "customer", "complaint"],
)
def test_seed_demo_refuses_a_database_holding_records_it_did_not_make(make_record, named):
    make_record()
    with pytest.raises(CommandError, match="did not make") as refused:
        call_command("seed_demo")
    assert named in str(refused.value)
    assert not User.objects.filter(email__in=DEMO_EMAILS).exists()


@pytest.mark.django_db
def test_seed_demo_fills_a_fresh_database_and_runs_again_on_its_own_after_use():
    call_command("seed_demo")
    # A developer works in the demo: the database stays the demo's, and the next `make run` seeds again.
    UserFactory(email="developer@example.org")
    call_command("seed_demo")
    assert User.objects.filter(email__in=DEMO_EMAILS).count() == len(DEMO_EMAILS)
    assert User.objects.get(email="manager@example.com").check_password(DEMO_PASSWORD)


@pytest.mark.django_db
def test_seed_demo_takes_over_a_demo_database_seeded_before_it_left_its_mark():
    from apps.dashboard.models import DemoDatabase

    call_command("seed_demo")
    DemoDatabase.objects.all().delete()  # as a database seeded by an older checkout
    call_command("seed_demo")
    assert DemoDatabase.objects.exists()


@pytest.mark.django_db
def test_seed_demo_refuses_a_database_where_the_demo_logins_sit_next_to_real_people():
    # A copy of production into which the old seed_demo had already written its logins.
    from apps.dashboard.models import DemoDatabase

    call_command("seed_demo")
    DemoDatabase.objects.all().delete()
    _a_user()
    with pytest.raises(CommandError, match="did not make"):
        call_command("seed_demo")


# generate_signing_key -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "environment",
    [
        {k: v for k, v in PRODUCTION_ENV.items() if k != "PORTAL_SIGNING_KEY"},
        {"DJANGO_SETTINGS_MODULE": "qms_portal.settings.production"},
        {},
    ],
    ids=["production-without-the-key", "production-with-nothing-set-yet", "no-settings-module"],
)
def test_generate_signing_key_works_before_any_key_exists(environment):
    result = _run(["manage.py", "generate_signing_key"], _bare_env(**environment))
    assert result.returncode == 0, result.stderr
    seed = base64.b64decode(result.stdout.strip(), validate=True)
    Ed25519PrivateKey.from_private_bytes(seed)  # 32 bytes, a usable key
    assert _run(["manage.py", "generate_signing_key"], _bare_env(**environment)).stdout != result.stdout


# grant_app_role -----------------------------------------------------------------------------


def _server() -> dict:
    db = settings.DATABASES["default"]
    return {"host": db["HOST"], "port": db["PORT"] or None, "user": db["USER"], "password": db["PASSWORD"]}


def _url(role: str, database: str, password: str = "") -> str:
    server = _server()
    if server["host"].startswith("/"):  # the embedded server listens on a socket directory
        return f"postgres://{role}:{password}@/{database}?host={server['host']}"
    return f"postgres://{role}:{password}@{server['host']}:{server['port'] or 5432}/{database}"


@pytest.fixture(scope="module")
def owned_database():
    """A migrated database owned by a role that may not create roles, as on a managed server."""
    tag = f"{settings.RUN_NAME}_{os.getpid()}"[-40:]
    owner, database, app_role = f"qms_owner_{tag}", f"qms_owned_{tag}", f"qms_app_{tag}"
    admin = psycopg2.connect(dbname="postgres", **_server())
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE ROLE {} LOGIN NOCREATEROLE NOSUPERUSER").format(sql.Identifier(owner)))
        cursor.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(database), sql.Identifier(owner)))
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
        "DJANGO_SETTINGS_MODULE": "qms_portal.settings.test",
        "DATABASE_URL": _url(owner, database),
        "QMS_APP_DB_PASSWORD": "app-role-secret-1234",
    }
    try:
        migrated = _run(["manage.py", "migrate", "--no-input"], env)
        assert migrated.returncode == 0, migrated.stderr
        yield {"owner": owner, "database": database, "app_role": app_role, "env": env}
    finally:
        with admin.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
            for role in (app_role, owner):
                cursor.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        admin.close()


def _grant(owned: dict, *args: str) -> subprocess.CompletedProcess:
    return _run(["manage.py", "grant_app_role", owned["app_role"], *args], owned["env"])


def test_grant_app_role_without_createrole_prints_the_sql_for_a_dba_instead_of_a_traceback(owned_database):
    result = _grant(owned_database, "--password-env", "QMS_APP_DB_PASSWORD")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "CREATEROLE" in result.stderr
    assert f'CREATE ROLE "{owned_database["app_role"]}" LOGIN;' in result.stderr
    assert "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES" in result.stderr
    assert "app-role-secret-1234" not in result.stdout + result.stderr  # a secret stays off the screen
    with psycopg2.connect(dbname="postgres", **_server()) as admin, admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [owned_database["app_role"]])
        assert cursor.fetchone() is None


def test_the_printed_sql_prepares_the_role_and_the_owner_keeps_it_up_to_date(owned_database):
    refused = _grant(owned_database, "--password-env", "QMS_APP_DB_PASSWORD")
    statements = [line.strip() for line in refused.stderr.splitlines() if re.match(r"^\s+[A-Z].*;$", line)]
    assert statements, refused.stderr
    # The DBA, a superuser, runs them in the portal's database and sets the password in psql.
    server = _server()
    with psycopg2.connect(dbname=owned_database["database"], **server) as dba, dba.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
        cursor.execute(
            sql.SQL("ALTER ROLE {} PASSWORD %s").format(sql.Identifier(owned_database["app_role"])),
            ["app-role-secret-1234"],
        )
    # After each later migration the owner runs the command again, as the README says: the role
    # exists, so it only grants, and leaves the password the DBA set.
    again = _grant(owned_database, "--password-env", "QMS_APP_DB_PASSWORD")
    assert again.returncode == 0, again.stderr
    owner = {**server, "user": owned_database["owner"], "password": ""}
    with psycopg2.connect(dbname=owned_database["database"], **owner) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE later_migration (id integer)")  # default privileges reach new tables
    app = {**server, "user": owned_database["app_role"], "password": "app-role-secret-1234"}
    with psycopg2.connect(dbname=owned_database["database"], **app) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM accounts_user")
        cursor.execute("INSERT INTO later_migration VALUES (1)")
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cursor.execute("DELETE FROM audit_auditentry")


# docker-compose -----------------------------------------------------------------------------

APPLICATION_SERVICES = ["web", "worker", "beat"]


def _env_files(service: dict) -> list[str]:
    files = service.get("env_file") or []
    files = [files] if isinstance(files, str | dict) else files
    return [item["path"] if isinstance(item, dict) else item for item in files]


def _variables(path: Path) -> dict[str, str]:
    """NAME=value lines of an example env file, the commented optional ones included (an
    operator uncomments them)."""
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$", line.strip())
        if match:
            found[match[1]] = match[2]
    return found


def _environment(service: dict) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) if "=" in item else (item, "") for item in environment)
    return {name: str(value) for name, value in environment.items()}


def test_application_containers_never_get_the_database_owners_password():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    owner_url = re.compile(r"postgres(ql)?://qms:")
    for name in APPLICATION_SERVICES:
        service = compose["services"][name]
        for env_file in _env_files(service):
            example = ROOT / f"{env_file}.example"
            assert example.exists(), f"{name}: {env_file} has no {example.name} to fill in"
            variables = _variables(example)
            assert "POSTGRES_PASSWORD" not in variables, f"{name} loads {env_file}, which holds POSTGRES_PASSWORD"
            assert not any(owner_url.search(value) for value in variables.values()), env_file
        environment = _environment(service)
        # Blanking it is allowed (and wins over an old .env that still holds it).
        assert environment.get("POSTGRES_PASSWORD", "") == "", name
        assert not any("POSTGRES_PASSWORD" in value or owner_url.search(value) for value in environment.values())
        assert environment["DATABASE_URL"].startswith("postgres://qms_app:"), name
    # The owner's password goes where it is needed, and into neither git nor the image.
    for name in ("migrate", "postgres"):
        service = compose["services"][name]
        passed = [v for f in _env_files(service) for v in _variables(ROOT / f"{f}.example")]
        assert "POSTGRES_PASSWORD" in passed, name
        assert _environment(service).get("POSTGRES_PASSWORD") is None, f"{name}: the env file's value must win"
    owner_files = set(_env_files(compose["services"]["postgres"]))
    ignored = (ROOT / ".gitignore").read_text().split()
    not_in_image = (ROOT / ".dockerignore").read_text().split()
    for owner_file in owner_files:
        assert owner_file in ignored or f"/{owner_file}" in ignored, owner_file
        assert owner_file in not_in_image or (owner_file.startswith(".env.") and ".env.*" in not_in_image)
