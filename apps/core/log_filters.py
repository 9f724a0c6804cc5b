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
    from django.conf import settings

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


class RedactingGunicornLogger(glogging.Logger):
    """gunicorn's logger (qms_portal/gunicorn.py: logger_class) with the same masking on its access
    and error logs: gunicorn writes them through handlers of its own, not Django's LOGGING."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log in (self.access_log, self.error_log):
            if not any(isinstance(existing, RedactPersonalData) for existing in log.filters):
                log.addFilter(RedactPersonalData())
