"""A page that logs a line and enqueues a task that logs another, served by a real gunicorn to a
real worker (tests/core/test_logging.py, test_sentry.py): one request's id should be on both.
Also a page and a task that fail with an e-mail address in their error, for the Sentry tests."""

from __future__ import annotations

import logging

from celery import shared_task
from django.http import JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

logger = logging.getLogger("tests.log_probe")
PLANTED_EMAIL = "planted.person@example.org"


@shared_task(name="tests.log_probe")
def log_probe_task(note: str) -> None:
    logger.info("probe task ran: %s", note)


@shared_task(name="tests.log_probe_fail")
def log_probe_fail_task(address: str, full_name: str = "") -> None:
    logger.info("about to fail for %s", address)
    raise ValueError(f"task could not reach {address}")


def probe_view(request):
    logger.info("probe view for %s", PLANTED_EMAIL)
    log_probe_task.delay_on_commit("from the view")
    return JsonResponse({"ok": True})


@csrf_exempt
def fail_view(request):
    # A breadcrumb, the body and the exception each carry the address.
    logger.warning("failing for %s", request.POST.get("email", ""))
    raise ValueError(f"could not handle {request.POST.get('email', '')}")


urlpatterns = [
    path("log-probe/", probe_view),
    path("log-probe/fail/", fail_view),
    path("", include("qms_portal.urls")),
]


def gunicorn_server(folder, log_name: str = "gunicorn.log", **env: str):
    """A real gunicorn with the image's config (qms_portal/gunicorn.py) on the settings module that
    tests.workers.celery_workers wrote into `folder`; yields its base URL, its output in
    folder/<log_name>. Stopped (SIGTERM, as an orchestrator does) on leaving."""
    import contextlib
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time

    from tests.http_browser import free_port
    from tests.workers import ROOT

    @contextlib.contextmanager
    def running():
        port = free_port()
        environment = {key: value for key, value in os.environ.items() if not key.startswith("WEB_")}
        environment |= {
            "DJANGO_SETTINGS_MODULE": "worker_settings",
            "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT)]),
            "WEB_BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": "1",
            **env,
        }
        command = [sys.executable, "-m", "gunicorn", "--config", "python:qms_portal.gunicorn", "qms_portal.wsgi"]
        with (folder / log_name).open("w") as log:
            process = subprocess.Popen(
                command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                assert process.poll() is None, (folder / log_name).read_text()
                with socket.socket() as probe:
                    if probe.connect_ex(("127.0.0.1", port)) == 0:
                        break
                time.sleep(0.1)
            yield f"http://127.0.0.1:{port}"
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()

    return running()
