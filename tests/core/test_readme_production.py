"""The README's production section: what an operator copies must agree with the code it runs."""

from __future__ import annotations

import re

import pytest
from django.conf import settings

from qms_portal.env import BASE_DIR
from tests.core.test_system_packages import assert_installs_the_runtime_group

SECTION = re.search(
    r"^## Running in production without Docker\n(.*?)^## ", (BASE_DIR / "README.md").read_text(), re.S | re.M
)


@pytest.fixture
def section() -> str:
    assert SECTION, "README.md has no section 'Running in production without Docker'"
    return SECTION.group(1)


def _size(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)\s*([kKmMgG]?)[bB]?", value).groups()
    return int(number) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit.lower()]


def test_both_proxies_let_the_largest_accepted_request_through(section):
    nginx = re.search(r"client_max_body_size\s+(\w+);", section)
    caddy = re.search(r"max_size\s+(\w+)", section)
    assert nginx, "the nginx example must state the upload size"
    assert caddy, "the Caddy example must state the upload size"
    assert _size(nginx.group(1)) >= settings.REQUEST_MAX_BYTES
    assert _size(caddy.group(1)) >= settings.REQUEST_MAX_BYTES


def test_the_system_packages_line_installs_the_runtime_group(section):
    assert_installs_the_runtime_group(section, "the README's install step")


def test_the_units_start_what_the_image_starts(section):
    dockerfile = (BASE_DIR / "Dockerfile").read_text()
    compose = (BASE_DIR / "docker-compose.yml").read_text()
    assert "--config python:qms_portal.gunicorn qms_portal.wsgi:application" in section
    assert '"--config", "python:qms_portal.gunicorn", "qms_portal.wsgi:application"' in dockerfile
    for process in ("worker", "beat"):
        assert f"celery -A qms_portal {process} --loglevel INFO" in section
        assert f'"celery", "-A", "qms_portal", "{process}", "--loglevel", "INFO"' in compose
    assert "WEB_BIND" in (BASE_DIR / "qms_portal" / "gunicorn.py").read_text()


def test_every_command_it_runs_exists(section):
    from django.core.management import get_commands

    commands = set(re.findall(r"manage\.py (\w+)", section))
    assert {"collectstatic", "migrate", "grant_app_role", "generate_signing_key", "check"} <= commands
    assert commands <= set(get_commands())
