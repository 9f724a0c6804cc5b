"""One id per request, on every log line it causes: the web's, gunicorn's access line and the lines
of the tasks it enqueues, so that an operator can follow a complaint from the form to its
acknowledgement e-mail with one search (#23).

The id comes from the proxy in front (`X-Request-ID`, as nginx's `$request_id` sends it) when it
is a plain token, else it is made here; either way the answer carries it back. It lives in a
context variable: each gunicorn thread and each Celery task sees only its own.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

HEADER = "X-Request-ID"
# The Celery message header that carries the id from the enqueuing process into the worker.
TASK_HEADER = "request_id"
# Letters, digits and `._-`, as UUIDs, nginx's hex ids and most tracing ids are: anything else
# (an address, a line break that would forge a log line, a kilobyte of text) is replaced.
_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")

current: ContextVar[str | None] = ContextVar("request_id", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def safe_request_id(value: str | None) -> str | None:
    """`value` when it may be logged as it is, else None."""
    return value if value and _SAFE.fullmatch(value) else None


class RequestIdMiddleware:
    """First in MIDDLEWARE, so that every line logged while answering (Django's own error lines
    included) carries the id. Sets `request.request_id` and the `X-Request-ID` answer header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = safe_request_id(request.META.get("HTTP_X_REQUEST_ID")) or new_request_id()
        request.request_id = request_id
        token = current.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            # A gunicorn thread serves the next request in the same context: nothing may linger.
            current.reset(token)
        # gunicorn's access line, written after this returns, reads the id from here.
        response[HEADER] = request_id
        return response


# Celery: the id travels in the task message's headers ---------------------------------------------


def _before_publish(headers=None, **_kwargs) -> None:
    request_id = current.get()
    if request_id and headers is not None:
        headers.setdefault(TASK_HEADER, request_id)


def _task_started(task=None, **_kwargs) -> None:
    request = getattr(task, "request", None)
    # An eager task runs inside its caller, whose id is current already.
    if request is None or request.is_eager:
        return
    current.set(safe_request_id(getattr(request, TASK_HEADER, None)))


def _task_finished(task=None, **_kwargs) -> None:
    request = getattr(task, "request", None)
    if request is not None and not request.is_eager:
        current.set(None)


def connect_celery() -> None:
    """Carry the id from the enqueuing process into the worker's task (qms_portal/celery.py). A
    task enqueued by a task carries it on; one sent by beat has none and logs its task id alone.
    The worker's own "succeeded"/"failed" line for a task is logged inside these two signals."""
    from celery import signals

    signals.before_task_publish.connect(_before_publish, weak=False, dispatch_uid="qms-request-id-publish")
    signals.task_prerun.connect(_task_started, weak=False, dispatch_uid="qms-request-id-prerun")
    signals.task_postrun.connect(_task_finished, weak=False, dispatch_uid="qms-request-id-postrun")
