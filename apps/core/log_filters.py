"""Log filters: no personal data or secrets leave the process in a log line.

Besides e-mail addresses and `password=…`-style pairs, links are secrets: a complaint's tracking
page, a survey's answer page, a password reset or an invitation opens to whoever has the path.
Those paths are taken from the URLconf (every route with a parameter named in
SECRET_URL_PARAMETERS), so a new token route is masked without anyone remembering this file
(#22 §9). Access-log lines, Django's and gunicorn's, carry the paths too and go through it.
"""

from __future__ import annotations

import logging
import re
import time
from functools import cache

from gunicorn import glogging

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
# "Authorization: Bearer <secret>" is one value of two words.
SECRET_PAIR = re.compile(
    r"(?i)\b(password|passwd|secret|token|authorization|api[_-]?key)(\s*[=:]\s*)((?:bearer|basic|token)\s+\S+|\S+)"
)
# An API token (apps.accounts.services.api_token_issue): the `qms_xxxxxxxx` prefix names it in
# lists and is kept; what follows is the secret.
API_TOKEN = re.compile(r"\b(qms_[0-9a-f]{8}_)[\w-]+")
# URL parameters that hold a secret (or, for uidb64, half of a reset link).
SECRET_URL_PARAMETERS = frozenset({"token", "uidb64", "key", "secret", "nonce"})
# A path segment: what a `str` converter matches, short of where a path ends in a log line.
_SEGMENT = r"[^/\s?#\"'<>]+"
_PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")
REDACTED = "[redacted]"


def _route_regex(route: str) -> str | None:
    """A pattern for a route's secret parameters (capturing groups), or None without any."""
    parts, position, secret = [], 0, False
    for match in _PARAMETER.finditer(route):
        parts.append(re.escape(route[position : match.start()]))
        is_secret = match["name"] in SECRET_URL_PARAMETERS
        secret = secret or is_secret
        parts.append(f"({_SEGMENT})" if is_secret else _SEGMENT)
        position = match.end()
    parts.append(re.escape(route[position:]))
    return "/" + "".join(parts) if secret else None


def _routes(resolver, prefix: str = ""):
    from django.urls import URLPattern, URLResolver

    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _routes(entry, route)
        elif isinstance(entry, URLPattern):
            yield route


@cache
def _secret_paths(urlconf: str) -> tuple[re.Pattern, ...]:
    from django.urls import get_resolver

    patterns = {regex for route in _routes(get_resolver(urlconf)) if (regex := _route_regex(route))}
    # Longest first, so that /s/<token>/opt-out/ is masked as a whole before /s/<token>/ could be.
    return tuple(re.compile(regex) for regex in sorted(patterns, key=len, reverse=True))


def secret_paths() -> tuple[re.Pattern, ...]:
    """The URLconf's secret-bearing routes as patterns; none before Django is set up (a gunicorn
    master, say, which serves no request and so logs no path)."""
    from django.apps import apps
    from django.conf import settings

    # Before setup the URLconf's import fails half-way, after running part of it (a gunicorn
    # master, with the settings module named but never set up, retried it on every line).
    if not apps.ready:
        return ()
    # A filter that raised would break the logging call itself: an unconfigured Django, or a
    # URLconf still being imported when something logs, masks what it can without the paths.
    try:
        return _secret_paths(settings.ROOT_URLCONF)
    except Exception:
        return ()


def _mask_groups(match: re.Match) -> str:
    text, start = [], match.start()
    for index in range(1, (match.re.groups or 0) + 1):
        text.append(match.string[start : match.start(index)])
        text.append(REDACTED)
        start = match.end(index)
    text.append(match.string[start : match.end()])
    return "".join(text)


def redact(text: str) -> str:
    text = EMAIL.sub("[email]", text)
    text = API_TOKEN.sub(rf"\1{REDACTED}", text)
    for pattern in secret_paths():
        text = pattern.sub(_mask_groups, text)
    return SECRET_PAIR.sub(rf"\1\2{REDACTED}", text)


def _redact_value(value):
    """Strings masked, containers walked; other objects (a request, say) become their masked text,
    since the JSON formatter would write their text anyway."""
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        return {key: _redact_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact_value(item) for item in value]
    return redact(str(value))


class RedactPersonalData(logging.Filter):
    """Mask e-mail addresses, secret-looking values and secret link paths in the message, its
    arguments and its `extra` fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        record.msg = redact(message)
        record.args = None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD:
                setattr(record, key, _redact_value(value))
        return True


_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


class RequestContext(logging.Filter):
    """Add the current request's id (apps.core.request_id) and, inside a Celery task, the task's
    id and name, so that one search finds every line of a request and of the tasks it caused."""

    def filter(self, record: logging.LogRecord) -> bool:
        from celery import current_task

        from apps.core.request_id import current

        request_id = current.get()
        if request_id and not hasattr(record, "request_id"):
            record.request_id = request_id
        if current_task and not hasattr(record, "task_id"):
            record.task_id = current_task.request.id
            record.task_name = current_task.name
        return True


class RedactingGunicornLogger(glogging.Logger):
    """gunicorn's logger (qms_portal/gunicorn.py: logger_class): its access and error logs, which
    gunicorn writes through handlers of its own and not Django's LOGGING, as JSON lines in UTC with
    the same masking, the access line with the request's id and its fields (#23)."""

    def setup(self, cfg) -> None:
        from apps.core.logging import JsonFormatter

        super().setup(cfg)
        for log in (self.access_log, self.error_log):
            for handler in log.handlers:
                if getattr(handler, "_gunicorn", False):
                    handler.setFormatter(JsonFormatter())
            if not any(isinstance(existing, RedactPersonalData) for existing in log.filters):
                log.addFilter(RequestContext())
                log.addFilter(RedactPersonalData())
        if not any(isinstance(existing, AccessFields) for existing in self.access_log.filters):
            # Before the masking, which replaces the arguments these are read from.
            self.access_log.filters.insert(0, AccessFields())
        # The master serves no request and never sets up Django: without this a warning or a
        # stray log line of its own would be text on stderr. Django replaces it in the workers.
        if not logging.root.handlers:
            handler = logging.StreamHandler()
            handler.setFormatter(JsonFormatter())
            handler.addFilter(RedactPersonalData())
            logging.root.addHandler(handler)
            logging.captureWarnings(True)

    def access(self, resp, req, environ, request_time) -> None:
        from apps.core.request_id import HEADER, current, safe_request_id

        # Written after the application returned: the id is read back from the answer's header.
        sent = next((value for name, value in resp.headers if name.lower() == HEADER.lower()), None)
        token = current.set(safe_request_id(sent))
        try:
            super().access(resp, req, environ, request_time)
        finally:
            current.reset(token)

    def now(self) -> str:
        """The `%(t)s` of an access log format, in UTC like every other time in the logs."""
        return time.strftime("[%d/%b/%Y:%H:%M:%S +0000]", time.gmtime())


class AccessFields(logging.Filter):
    """gunicorn's access line as fields too: method, path, status, bytes and duration, so that a
    log search can filter on them without parsing the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        atoms = record.args
        if isinstance(atoms, dict):
            record.method = atoms.get("m")
            record.path = atoms.get("U")
            record.status = _int(atoms.get("s"))
            record.bytes = _int(atoms.get("B"))
            record.duration_ms = _int(atoms.get("M"))
            record.remote_addr = atoms.get("h")
        return True


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
