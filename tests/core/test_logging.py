import io
import json
import logging
import os
import re
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from urllib.request import Request, urlopen

import pytest

from apps.core.log_filters import RedactPersonalData, RequestContext, redact
from tests.core.log_probe import gunicorn_server
from tests.workers import celery_workers, wait_for


def test_email_addresses_and_secrets_are_masked():
    text = "login failed for jane.doe+x@example.co.uk password=hunter2 token: abc123"
    assert redact(text) == "login failed for [email] password=[redacted] token: [redacted]"


def test_log_lines_are_json_without_personal_data():
    from pythonjsonlogger.json import JsonFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("%(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactPersonalData())
    logger = logging.getLogger("qms.test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    # Independent of the root level, which a test worker may have raised.
    logger.setLevel(logging.INFO)
    try:
        logger.warning("sending to %s", "bob@example.com", extra={"recipient": "bob@example.com", "email_id": 7})
    finally:
        logger.removeHandler(handler)
    line = json.loads(stream.getvalue().strip())
    assert line["message"] == "sending to [email]"
    assert line["recipient"] == "[email]"
    assert line["email_id"] == 7


# Secrets in URL paths (#22 §9): tracking, survey, reset and invitation links, API tokens --------

TOKEN = "Zq9xT3-secretTOKENvalue_4kLm8nP2rS5uV7wY0aBcDeF"


def _secret_routes(resolver=None, prefix=""):
    """(name, route) of every URL pattern with a token-like parameter, walked from the URLconf."""
    from django.urls import URLPattern, URLResolver, get_resolver

    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _secret_routes(entry, route)
        elif isinstance(entry, URLPattern) and {"token", "uidb64"} & set(entry.pattern.converters):
            yield entry.name, route


def _fill(route: str) -> str:
    """The route's secret parameters hold TOKEN; the others an id (7), which needs no masking."""
    import re

    from apps.core.log_filters import SECRET_URL_PARAMETERS

    def value(match: re.Match) -> str:
        return TOKEN if match[1] in SECRET_URL_PARAMETERS else "7"

    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", value, route)


def test_every_route_with_a_token_in_its_path_is_masked():
    routes = list(_secret_routes())
    # The walk itself finds the known ones: tracking, the three survey pages, reset/invitation.
    assert {name for name, _route in routes} >= {"track", "answer", "thanks", "opt_out", "password_reset_confirm"}
    for _name, route in routes:
        path = _fill(route)
        assert TOKEN not in redact(f"GET {path} HTTP/1.1"), route
        assert TOKEN not in redact(f"link: https://qms.example.com{path}?lang=de"), route


def test_a_new_token_route_is_masked_without_touching_the_filter(settings):
    settings.ROOT_URLCONF = "tests.core.token_urls"
    assert redact(f"GET /invitations/{TOKEN}/accept/ HTTP/1.1") == "GET /invitations/[redacted]/accept/ HTTP/1.1"


def test_paths_without_secrets_stay_readable():
    assert redact("GET /complaints/42/ HTTP/1.1") == "GET /complaints/42/ HTTP/1.1"
    assert redact("GET /s/") == "GET /s/"


def test_api_token_secrets_are_masked_and_their_public_prefix_kept():
    secret = "qms_1a2b3c4d_" + TOKEN
    assert redact(f"Authorization: Bearer {secret}") == "Authorization: [redacted]"
    assert redact(f"client sent {secret} twice") == "client sent qms_1a2b3c4d_[redacted] twice"


def _emit(logger_name: str, *args, **kwargs) -> dict:
    from pythonjsonlogger.json import JsonFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("%(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactPersonalData())
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        logger.info(*args, **kwargs)
    finally:
        logger.removeHandler(handler)
    return json.loads(stream.getvalue().strip())


def test_access_log_lines_and_extra_fields_carry_no_secret_path():
    from django.test import RequestFactory

    path = f"/complaints/track/{TOKEN}/"
    # As Django's runserver ("django.server") and django.request log: the request line as an
    # argument, the request object and other details as extra fields.
    line = _emit(
        "django.server",
        '"%s" %s %s',
        f"GET {path} HTTP/1.1",
        200,
        1234,
        extra={
            "request": RequestFactory().get(path),
            "path": path,
            "links": {"track": f"https://qms.example.com{path}", "ids": [1, f"/s/{TOKEN}/"]},
            "status_code": 200,
        },
    )
    assert TOKEN not in json.dumps(line)
    assert line["message"] == '"GET /complaints/track/[redacted]/ HTTP/1.1" 200 1234'
    assert line["status_code"] == 200


def test_gunicorn_access_log_is_masked():
    from gunicorn.config import Config

    from qms_portal.gunicorn import logger_class

    config = Config()
    config.set("accesslog", "-")
    gunicorn_logger = logger_class(config)
    stream = io.StringIO()
    for handler in gunicorn_logger.access_log.handlers:
        handler.setStream(stream)
    path = f"/s/{TOKEN}/"
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": path, "PATH_INFO": path, "QUERY_STRING": "",
               "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "203.0.113.5"}  # fmt: skip
    request = SimpleNamespace(headers=[], method="GET", uri=path, path=path, query="", version=(1, 1))
    response = SimpleNamespace(status="200 OK", response_length=10, sent=10, headers=[])
    gunicorn_logger.access(response, request, environ, timedelta(milliseconds=5))
    assert "GET /s/[redacted]/ HTTP/1.1" in stream.getvalue()
    assert TOKEN not in stream.getvalue()


def test_development_e_mails_go_to_files_under_var():
    import subprocess
    import sys

    code = "from django.conf import settings as s; print(s.EMAIL_BACKEND); print(s.EMAIL_FILE_PATH)"
    environment = {key: value for key, value in os.environ.items() if key != "EMAIL_BACKEND"}
    output = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env={**environment, "DJANGO_SETTINGS_MODULE": "qms_portal.settings.local"},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split()
    from qms_portal.env import VAR_DIR

    assert output == ["django.core.mail.backends.filebased.EmailBackend", str(VAR_DIR / "mail")]


# Every line JSON, in UTC, one request id from the web into its tasks (#23) -------------------------

PROBE_SETTINGS = ['ROOT_URLCONF = "tests.core.log_probe"', 'CELERY_IMPORTS = ["tests.core.log_probe"]']


def _json_lines(log: Path) -> list[dict]:
    """Every line of a process's output (stdout and stderr) as JSON, each stamped in UTC."""
    lines = []
    for number, text in enumerate(log.read_text().splitlines(), 1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except ValueError:
            pytest.fail(f"{log.name}:{number} is not JSON: {text!r}")
        stamp = datetime.fromisoformat(line["time"])
        assert stamp.utcoffset() == timedelta(0), (log.name, number, text)
        lines.append(line)
    return lines


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_gunicorn_worker_and_beat_lines_are_json_in_utc_and_a_request_id_follows_its_task(tmp_path):
    request_id = f"probe-{uuid.uuid4().hex}"
    worker_log, beat_log = tmp_path / "worker.log", tmp_path / "beat.log"
    beat_schedule = "CELERY_BEAT_SCHEDULE = {'probe': {'task': 'tests.log_probe', 'schedule': 1.0, 'args': ['beat']}}"
    with celery_workers(tmp_path, [*PROBE_SETTINGS, beat_schedule], {}) as start:
        start("worker")
        start("beat", beat=True)
        assert wait_for(lambda: "ready" in worker_log.read_text(), timeout=60)
        assert wait_for(lambda: "Sending due task probe" in beat_log.read_text(), timeout=60)
        with gunicorn_server(tmp_path) as url:
            answer = urlopen(Request(f"{url}/log-probe/", headers={"X-Request-ID": request_id}), timeout=30)  # noqa: S310
            assert answer.headers["X-Request-ID"] == request_id
            # An id that is no plain token (here an address) is replaced, not logged.
            unsafe = urlopen(Request(f"{url}/log-probe/", headers={"X-Request-ID": "bob@example.com"}), timeout=30)  # noqa: S310
            generated = unsafe.headers["X-Request-ID"]
            assert generated
            assert "@" not in generated
            assert wait_for(lambda: worker_log.read_text().count("probe task ran: from the view") == 2, timeout=60)
            time.sleep(0.5)  # Celery's own "succeeded" line follows the task's

    web = _json_lines(tmp_path / "gunicorn.log")
    worker = _json_lines(worker_log)
    assert any(line["message"].startswith("beat: Starting") for line in _json_lines(beat_log))
    # A task sent by beat belongs to no request.
    assert all("request_id" not in line for line in worker if line.get("task_name") and "beat" in line["message"])
    assert any(line["logger"] == "gunicorn.error" for line in web)  # "Booting worker", say
    ours = [line for line in web if line.get("request_id") == request_id]
    assert {line["logger"] for line in ours} >= {"gunicorn.access", "tests.log_probe"}
    access = next(line for line in ours if line["logger"] == "gunicorn.access")
    assert "GET /log-probe/" in access["message"]
    assert {line["logger"] for line in web if line.get("request_id") == generated} >= {"gunicorn.access"}
    assert all("bob@example.com" not in json.dumps(line) for line in web)
    task_lines = [line for line in worker if line.get("request_id") == request_id]
    assert any("probe task ran: from the view" in line["message"] for line in task_lines)
    assert any("succeeded" in line["message"] for line in task_lines)  # Celery's own line
    assert [line for line in worker if line.get("request_id") == generated]


def test_a_process_without_django_set_up_masks_without_importing_the_urlconf():
    """A gunicorn master has DJANGO_SETTINGS_MODULE but never sets Django up: each of its log lines
    tried to import the URLconf, which failed half-way and ran its module again every time."""
    import subprocess
    import sys

    code = """
import importlib.abc, sys
seen = []
class Watch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "qms_portal.urls":
            seen.append(name)
sys.meta_path.insert(0, Watch())
from apps.core.log_filters import redact
print(redact("Booting worker for bob@example.com"), redact("Listening"), len(seen))
"""
    output = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "qms_portal.settings.test"},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split()
    assert output == ["Booting", "worker", "for", "[email]", "Listening", "0"]


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("3f2a9c0e-1b7d-4c55-9e1a-2b6f0d8c4a71", True),  # a UUID, as most proxies make
        ("a1b2c3d4e5f60718293a4b5c6d7e8f90", True),  # nginx's $request_id
        ("bob@example.com", False),  # personal data would ride along into every line
        ('x", "level": "CRITICAL', False),  # a forged field
        ("line\r\nbreak", False),
        ("x" * 129, False),
        ("", False),
    ],
)
@pytest.mark.django_db
def test_a_request_id_from_the_proxy_is_kept_only_when_it_is_a_plain_token(client, sent, kept):
    answer = client.get("/healthz", HTTP_X_REQUEST_ID=sent)
    echoed = answer["X-Request-ID"]
    assert (echoed == sent) is kept
    assert re.fullmatch(r"[A-Za-z0-9._-]{1,128}", echoed)


def test_a_task_run_eagerly_logs_with_its_callers_request_id(settings, caplog):
    from apps.core.request_id import current
    from tests.core.log_probe import log_probe_task

    settings.CELERY_TASK_ALWAYS_EAGER = True
    token = current.set("caller-request-1")
    try:
        with caplog.at_level(logging.INFO, logger="tests.log_probe"):
            log_probe_task.apply(args=["eager"])
        # The task's end leaves the caller's id in place for the caller's next lines.
        assert current.get() == "caller-request-1"
    finally:
        current.reset(token)
    record = next(record for record in caplog.records if "probe task ran: eager" in record.getMessage())
    RequestContext().filter(record)  # as the stdout handler does; a no-op when it already did
    assert record.request_id == "caller-request-1"
