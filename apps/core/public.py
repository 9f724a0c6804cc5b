"""Protection for the public pages customers use without an account.

Public forms carry a honeypot field that people never see and bots fill in,
and each view limits how often one client address may submit. Both are
cheap first lines; CSRF protection stays on as everywhere. The complaint and
feedback forms also carry a submission key, so that a double click, a resent
form or a retry after a timeout records the submission once.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import F
from django.shortcuts import render
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from apps.core.client import client_key
from apps.core.models import RateLimitCount
from apps.core.redis_client import REDIS_UNAVAILABLE, redis_client, redis_failed, redis_resting

logger = logging.getLogger(__name__)

HONEYPOT_FIELD = "website"


class HoneypotFormMixin(forms.Form):
    """Adds the honeypot: a text field hidden by CSS (class `hp-field`) and from screen readers."""

    website = forms.CharField(
        required=False,
        label=_("Leave this field empty"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def clean_website(self) -> str:
        if self.cleaned_data.get(HONEYPOT_FIELD):
            raise forms.ValidationError(_("This submission looks automated and was not accepted."))
        return ""


@dataclass
class RateLimitClaim:
    """One submission counted towards a limit. `exceeded` when it went past the limit;
    `release()` takes the count back, for a submission that was not accepted after all."""

    exceeded: bool
    _counter: str
    _window_start: Any = None  # the PostgreSQL window counted in; None: counted in Redis
    _released: bool = False

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        if self._window_start is not None:
            _uncount_in_postgresql(self._counter, self._window_start)
            return
        try:
            # Only while the counter lives: a decrement after its window expired would leave a
            # counter without expiry behind.
            redis_client(timeout=RATE_LIMIT_REDIS_TIMEOUT).eval(_DECREMENT_IF_PRESENT, 1, self._counter)
        except REDIS_UNAVAILABLE:
            redis_failed(settings.REDIS_CLIENT_URL)


_DECREMENT_IF_PRESENT = "if redis.call('exists', KEYS[1]) == 1 then return redis.call('decr', KEYS[1]) end return 0"


def rate_limit_claim(request, *, scope: str, limit: int, window_seconds: int, key: str | None = None) -> RateLimitClaim:
    """Count one submission for the client address (or `key`) and say whether it exceeds
    `limit` per window. The public forms release the claim of a submission they refuse (a
    missing field, the limit itself), so that only accepted submissions count (#24): counting
    first and giving back afterwards keeps parallel sends from slipping past the limit.

    With `key`, count for that instead (an account, say): a keyed hash, never personal data in
    clear, since the counter sits in Redis under its key.

    A fixed window in the shared Redis, so all web processes count together: one round trip
    (create the counter with its expiry unless it exists, then increment, in one MULTI) on
    every public form's hot path, where the cache API's add-then-incr took three.

    While Redis is down the count goes on in PostgreSQL (`_count_in_postgresql`), which holds
    everything a submission is anyway: a Redis outage must not turn customers away, nor open
    the forms to a flood. The counts of the two stores are not merged, so across a switch a
    client gets at most one window's worth in each.
    """
    # The cache's prefix: cleared with it.
    counter = cache.make_key(f"ratelimit:{scope}:{key or client_key(request)}")
    url = settings.REDIS_CLIENT_URL
    if not redis_resting(url):
        try:
            pipeline = redis_client(timeout=RATE_LIMIT_REDIS_TIMEOUT).pipeline(transaction=True)
            pipeline.set(counter, 0, ex=window_seconds, nx=True)
            pipeline.incr(counter)
            _created, count = pipeline.execute()
            return RateLimitClaim(exceeded=count > limit, _counter=counter)
        except REDIS_UNAVAILABLE as error:
            redis_failed(url)
            logger.warning(
                "rate limits count in PostgreSQL while Redis is unavailable", extra={"error": type(error).__name__}
            )
    count, window_start = _count_in_postgresql(counter, window_seconds)
    return RateLimitClaim(exceeded=count > limit, _counter=counter, _window_start=window_start)


def rate_limited(request, *, scope: str, limit: int, window_seconds: int, key: str | None = None) -> bool:
    """Count one attempt for good (`rate_limit_claim`); True when it exceeds `limit` per window.
    For what every attempt should pay for, accepted or not: sign-in, password resets, guessed links."""
    return rate_limit_claim(request, scope=scope, limit=limit, window_seconds=window_seconds, key=key).exceeded


# A Redis on the same network answers in well under a millisecond; one that does not within this
# is treated as down, so that a hung server costs a request half a second, not the usual two.
RATE_LIMIT_REDIS_TIMEOUT = 0.5


def _digest(counter: str) -> str:
    return salted_hmac("qms.core.rate_limit", counter, algorithm="sha256").hexdigest()


def _count_in_postgresql(counter: str, window_seconds: int) -> tuple[int, Any]:
    """Count one for `counter` in the window of PostgreSQL's clock (one clock for every web
    process) and return the window's count and start. One upsert: the unique (key, window_start)
    row is created or incremented atomically, so parallel processes neither lose a count nor pass
    one more. Opening a window also deletes the windows that have ended, so the table stays small."""
    table = RateLimitCount._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH bounds AS (SELECT to_timestamp(floor(extract(epoch FROM now()) / %(w)s) * %(w)s) AS start)
            INSERT INTO {table} (key, window_start, count, expires_at)
            SELECT %(key)s, start, 1, start + make_interval(secs => %(w)s) FROM bounds
            ON CONFLICT (key, window_start) DO UPDATE SET count = {table}.count + 1
            RETURNING count, window_start
            """,  # noqa: S608 (the table name is the model's own)
            {"key": _digest(counter), "w": window_seconds},
        )
        count, window_start = cursor.fetchone()
        if count == 1:
            cursor.execute(f"DELETE FROM {table} WHERE expires_at < now()")  # noqa: S608
    return count, window_start


def _uncount_in_postgresql(counter: str, window_start) -> None:
    """Give back one count of the window it was counted in (a later window owes it nothing)."""
    RateLimitCount.objects.filter(key=_digest(counter), window_start=window_start, count__gt=0).update(
        count=F("count") - 1
    )


# What a visitor sees when a public form's limit answers: the form again with what they typed.
RATE_LIMITED_MESSAGE = _(
    "You have sent several submissions in a short time. Nothing was recorded this time, and what "
    "you typed is still in the form: please wait a few minutes and send it again."
)
ATTACHMENTS_NOT_KEPT = _("Attachments cannot be kept by your browser: please attach your files again before sending.")


def rate_limited_messages(request) -> list[str]:
    """The message for a refused submission; a second one when files were attached, since no
    browser lets a page fill in a file field again."""
    messages = [str(RATE_LIMITED_MESSAGE)]
    if any(request.FILES.values()):
        messages.append(str(ATTACHMENTS_NOT_KEPT))
    return messages


class RateLimitedFormMixin:
    """For a public FormView: a submission past the limit gets the same form back, filled in with
    what was sent and the message on top (status 429), and only an accepted submission (the
    view redirects) counts. A bot caught by the honeypot keeps its count."""

    rate_limit_scope: str

    def rate_limit(self) -> tuple[int, int]:
        """(submissions per window, window in seconds)."""
        raise NotImplementedError

    def post(self, request, *args, **kwargs):
        limit, window = self.rate_limit()
        claim = rate_limit_claim(request, scope=self.rate_limit_scope, limit=limit, window_seconds=window)
        form = self.get_form()
        if claim.exceeded:
            claim.release()
            for message in rate_limited_messages(request):
                form.add_error(None, message)
            response = self.form_invalid(form)
            response.status_code = 429
            return response
        response = self.form_valid(form) if form.is_valid() else self.form_invalid(form)
        if response.status_code != 302 and HONEYPOT_FIELD not in form.errors:
            claim.release()
        return response


REFERENCE_MAX_AGE_SECONDS = 15 * 60


def _reference_salt(name: str) -> str:
    return f"qms.public.{name}"


def remember_reference(response, name: str, reference: str):
    """Tell this browser, and only it, the reference of what it just submitted, for the
    confirmation page it is redirected to: a signed, short-lived, HttpOnly cookie, read once.

    A cookie rather than the session: a visitor without an account would otherwise get a
    session row written and read back for every submission, four database round trips on the
    public forms' hot path (issue #9, G1), and the reference is not secret from its submitter.
    """
    response.set_signed_cookie(
        name,
        reference,
        salt=_reference_salt(name),
        max_age=REFERENCE_MAX_AGE_SECONDS,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response


def recall_reference(request, name: str) -> str | None:
    """The reference `remember_reference` left, or None when missing, forged or expired.
    The page showing it calls `forget_reference` on its response, so a reload shows none."""
    return request.get_signed_cookie(name, default=None, salt=_reference_salt(name), max_age=REFERENCE_MAX_AGE_SECONDS)


def forget_reference(response, name: str):
    response.delete_cookie(name, samesite="Lax")
    return response


def too_many_requests(request):
    return render(request, "429.html", status=429)


SUBMISSION_KEY = re.compile(r"^[0-9a-f]{32}$")


class SubmissionKeyMixin(forms.Form):
    """A hidden random key drawn when the form is shown; the same form sent twice sends it twice."""

    submission_key = forms.CharField(required=False, max_length=32, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("submission_key", uuid.uuid4().hex)

    def clean_submission_key(self) -> str:
        # Anything but a key we could have drawn is ignored, not an error the customer must fix.
        value = self.cleaned_data.get("submission_key") or ""
        return value if SUBMISSION_KEY.match(value) else ""


def earlier_submission(model, key: str):
    """The record an earlier send of the same form created, or None. Takes a transaction-scoped
    lock on the key first, so parallel sends of one form queue here and only the first creates."""
    if not key:
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"submission:{key}"])
    return model.objects.filter(submission_key=key).first()
