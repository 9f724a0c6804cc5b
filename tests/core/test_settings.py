import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from qms_portal.env import env_bool, redis_urls

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "qms_portal.settings.production",
    "SECRET_KEY": "k3y-" + "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMN",
    "DATABASE_URL": "postgres://qms:secret@db.internal:5432/qms",
    "REDIS_URL": "redis://redis.internal:6379/0",
    "ALLOWED_HOSTS": "qms.example.com",
    "SITE_URL": "https://qms.example.com",
    "FIELD_ENCRYPTION_KEY": "uT3nqgIRO3qVNmRzvSB4Y0W8JcJGS5oyIoevXL0pWnM=",
    "BLIND_INDEX_KEY": "blind-index-key-of-at-least-32-random-characters",
    "PORTAL_SIGNING_KEY": "mWbaN0MLSLfV4c7pbgM9TfFxxaMUm6BP0gMHNnbJB4M=",
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV and k != "DEBUG"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_the_deployment_checklist_without_warnings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    "missing",
    [
        "SECRET_KEY",
        "DATABASE_URL",
        "REDIS_URL",
        "ALLOWED_HOSTS",
        "FIELD_ENCRYPTION_KEY",
        "BLIND_INDEX_KEY",
        "SITE_URL",
        "PORTAL_SIGNING_KEY",
    ],
)
def test_production_refuses_to_start_without_a_required_variable(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert missing in result.stderr


def test_production_refuses_a_weak_secret_key():
    result = _manage("check", env={**PRODUCTION_ENV, "SECRET_KEY": "short"})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_debug():
    result = _manage("check", env={**PRODUCTION_ENV, "DEBUG": "1"})
    assert result.returncode != 0
    assert "DEBUG" in result.stderr


@pytest.mark.parametrize(
    ("url", "db", "expected"),
    [
        ("redis://h:6379/0", None, ("redis://h:6379/0", "redis://h:6379/0")),
        ("redis://h:6379", 15, ("redis://h:6379/15", "redis://h:6379/15")),
        (
            "unix:///v/redis.sock?db=0",
            None,
            ("unix:///v/redis.sock?db=0", "redis+socket:///v/redis.sock?virtual_host=0"),
        ),
        ("unix:///v/redis.sock", 15, ("unix:///v/redis.sock?db=15", "redis+socket:///v/redis.sock?virtual_host=15")),
    ],
)
def test_redis_url_is_spelled_for_both_clients(url, db, expected):
    assert redis_urls(url, db=db) == expected


def test_redis_url_with_unknown_scheme_is_a_clear_error():
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL"):
        redis_urls("http://redis:6379")


def test_boolean_variables_reject_nonsense(monkeypatch):
    monkeypatch.setenv("QMS_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="QMS_FLAG"):
        env_bool("QMS_FLAG", False)
    monkeypatch.setenv("QMS_FLAG", "off")
    assert env_bool("QMS_FLAG", True) is False
