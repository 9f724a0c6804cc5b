"""Error reports to Sentry (or any server that speaks its protocol) when SENTRY_DSN is set (#23).

A report leaves the organisation, so what it holds is decided here and not by the SDK's defaults:
no user, no cookies, no headers that authenticate, no local variables of the failing frames
(a complainant's name sits in them as often as not); of a request's body and query string only
the field names; every remaining text (the exception's message, log breadcrumbs, the URL) goes
through the log redaction (apps.core.log_filters.redact): addresses, tokens and secret link
paths masked. Task arguments are dropped the same way: the task's name says which one failed.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qsl

FILTERED = "[Filtered]"
# Request headers worth keeping in a report; every other one is dropped (Cookie, Authorization,
# X-Forwarded-For and whatever a proxy adds).
KEPT_HEADERS = frozenset({"accept", "accept-language", "content-length", "content-type", "host", "user-agent"})


def sentry_init(*, dsn: str, environment: str, release: str | None, traces_sample_rate: float) -> None:
    """Called from settings, so that web processes, workers and beats all report."""
    import sentry_sdk
    from django.core.exceptions import ImproperlyConfigured
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration, ignore_logger
    from sentry_sdk.utils import BadDsn

    # Its one line says a report was dropped; as a report itself it could loop.
    ignore_logger(__name__)

    try:
        sentry_sdk.init(
            dsn=dsn,
            environment=environment,
            release=release,
            # What the SDK collects at all (it supersedes send_default_pii, which is off by default
            # and now deprecated): before_send below scrubs what is left, and would scrub these too.
            data_collection={
                "user_info": False,
                "cookies": {"mode": "off"},
                "http_headers": {"request": {"mode": "allowlist", "terms": sorted(KEPT_HEADERS)}},
                "http_bodies": [],
                "url_query_params": {"mode": "allowlist", "terms": []},
                "stack_frame_variables": False,
                "database_query_data": False,
                "queues": False,
                "gen_ai": {"inputs": False, "outputs": False},
            },
            traces_sample_rate=traces_sample_rate,
            integrations=[
                DjangoIntegration(),
                CeleryIntegration(),
                # INFO lines become breadcrumbs, ERROR lines events, as the SDK's default does.
                LoggingIntegration(level=logging.INFO, event_level=logging.ERROR),
            ],
            before_send=scrub_event,
            before_send_transaction=scrub_event,
            before_breadcrumb=scrub_breadcrumb,
        )
    except BadDsn as error:
        raise ImproperlyConfigured(f"SENTRY_DSN is not a Sentry DSN ({error}).") from error


def _masked(value: Any) -> Any:
    from apps.core.log_filters import redact

    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(item) for item in value]
    return value


def _field_names_only(value: Any) -> Any:
    if isinstance(value, dict):
        return dict.fromkeys(value, FILTERED)
    return FILTERED if value else value


def _query_names_only(query: str) -> str:
    from apps.core.log_filters import redact

    # Each name masked apart: masked as one text, `token=…&contact=…` would lose what follows.
    return "&".join(f"{redact(name)}={FILTERED}" for name, _value in parse_qsl(query, keep_blank_values=True))


def scrub_event(event: dict, hint: dict | None = None) -> dict | None:
    """before_send: the event as it may leave the process, tagged with the request's id so that
    the report leads to the log lines of the same request or task; none at all if scrubbing
    failed, since the SDK would send the unscrubbed event when a before_send raises."""
    try:
        return _scrubbed(event)
    except Exception:
        logging.getLogger(__name__).exception("error report dropped: it could not be scrubbed")
        return None


def _scrubbed(event: dict) -> dict:
    from apps.core.request_id import current

    request = event.get("request")
    query = request.get("query_string") if isinstance(request, dict) else None
    event = _masked(event)
    event.pop("user", None)
    if request_id := current.get():
        event["tags"] = {**(event.get("tags") or {}), "request_id": request_id}
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("cookies", None)
        request.pop("env", None)
        if "data" in request:
            request["data"] = _field_names_only(request["data"])
        if isinstance(query, str):
            request["query_string"] = _query_names_only(query)
        if isinstance(request.get("url"), str):
            request["url"] = request["url"].split("?", 1)[0]
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {name: value for name, value in headers.items() if name.lower() in KEPT_HEADERS}
    celery_job = (event.get("extra") or {}).get("celery-job")
    if isinstance(celery_job, dict):
        for key in ("args", "kwargs"):
            if key in celery_job:
                celery_job[key] = FILTERED
    return event


def scrub_breadcrumb(crumb: dict, hint: dict | None = None) -> dict | None:
    """before_breadcrumb: a log line or an HTTP call as it is recorded for a later event (none
    if it could not be scrubbed, as for events)."""
    try:
        data = crumb.get("data")
        # An outgoing HTTP call's query string may hold a token.
        if isinstance(data, dict) and data.get("http.query"):
            data["http.query"] = FILTERED
        return _masked(crumb)
    except Exception:
        return None
