"""The image's web server settings (qms_portal/gunicorn.py), as gunicorn itself reads them.
Their speed is measured by `make bench` (G7); the soak runs its load and faults through them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMMAND = [sys.executable, "-m", "gunicorn", "--config", "python:qms_portal.gunicorn"]


def _effective(**env: str) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("WEB_")}
    output = subprocess.run(
        [*COMMAND, "--print-config", "qms_portal.wsgi:application"],
        cwd=ROOT,
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return dict(re.findall(r"^(\w+)\s+= (.*)$", output, re.MULTILINE))


def test_the_image_runs_gunicorn_with_these_settings():
    command = re.search(r"^CMD (.*)$", (ROOT / "Dockerfile").read_text(), re.MULTILINE).group(1)
    assert '"--config", "python:qms_portal.gunicorn"' in command


def test_threaded_workers_one_per_core_with_keep_alive_and_an_access_log():
    found = _effective()
    assert found["worker_class"] == "gthread"
    assert int(found["workers"]) == os.cpu_count()
    assert int(found["threads"]) == 1
    assert int(found["keepalive"]) > 0
    assert found["accesslog"] == "-"
    assert found["bind"] == "['0.0.0.0:8000']"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"WEB_CONCURRENCY": "5"}, {"workers": "5"}),
        ({"WEB_THREADS": "4"}, {"threads": "4"}),
        ({"WEB_ACCESS_LOG": ""}, {"accesslog": "None"}),
        ({"WEB_BIND": "127.0.0.1:9000"}, {"bind": "['127.0.0.1:9000']"}),
    ],
)
def test_operators_tune_it_from_the_environment(env, expected):
    found = _effective(**env)
    assert {key: found[key] for key in expected} == expected
