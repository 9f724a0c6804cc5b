"""GET /metrics: the portal's state for Prometheus, behind a bearer token.

Why a token on the application's own port rather than a second port: gunicorn serves the
application only, so a second port would mean a second server in every worker process; the
token is checked before anything is read, and with METRICS_TOKEN unset the endpoint does not
exist (404), which is the default. Inside the container network Prometheus may scrape it over
plain HTTP (exempt from the HTTPS redirect, like /healthz); from outside, through the TLS proxy.

Three sources, each where the processes that produce it can write:

- HTTP requests (this process): a counter by route, method and status, and a latency
  histogram by route, kept by MetricsMiddleware. The route is the URL pattern's name, never the
  raw path, so ids and tokens in paths add no series. gunicorn runs several processes and a
  scrape reaches one of them, so each process writes its values to files in
  PROMETHEUS_MULTIPROC_DIR and a scrape sums them all (prometheus_client's multiprocess
  mode). qms_portal/gunicorn.py makes that directory, empty, at every start.
- Celery tasks (the workers, other containers): Celery signals add to one Redis hash per
  installation (HINCRBY, one round trip per task event), read at scrape time. Redis is the one
  store every worker and web process already shares; the counters survive a worker restart.
- State (PostgreSQL, Redis, the broker's queue, the checkpoint log): computed at scrape time,
  two queries.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

import redis
from celery.signals import task_failure, task_postrun, task_retry
from django.apps import apps
from django.conf import settings
from django.db.models import Count, Min, Q
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from apps.core.beat import BEAT_HEARTBEAT_KEY, BEAT_LAST_SENT_KEY
from apps.core.redis_client import redis_client, redis_failed, redis_resting

logger = logging.getLogger(__name__)

UNRESOLVED_ROUTE = "<unresolved>"  # a path no URL pattern matched (404s, scanners)
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
TASK_EVENTS = ("runs", "failures", "retries")

# Not the global registry: in multiprocess mode the values live in files and are read by a
# MultiProcessCollector; in one process this registry is collected directly.
_http_registry = CollectorRegistry(auto_describe=True)
HTTP_REQUESTS = Counter(
    "qms_http_requests",
    "HTTP requests answered, by URL pattern name, method and status.",
    ["route", "method", "status"],
    registry=_http_registry,
)
HTTP_LATENCY = Histogram(
    "qms_http_request_duration_seconds",
    "Time from the request reaching Django to its response, by URL pattern name.",
    ["route"],
    registry=_http_registry,
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def route_of(request) -> str:
    match = getattr(request, "resolver_match", None)
    # view_name is "namespace:name", or the view's dotted path for a pattern without a name.
    return match.view_name if match is not None else UNRESOLVED_ROUTE


class MetricsMiddleware:
    """Counts and times every answer Django gives (static files are answered before it by
    WhiteNoise and are not counted)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        route = route_of(request)
        method = request.method if request.method in KNOWN_METHODS else "other"
        HTTP_REQUESTS.labels(route, method, str(response.status_code)).inc()
        HTTP_LATENCY.labels(route).observe(time.perf_counter() - started)
        return response


# Celery tasks ---------------------------------------------------------------------------


def celery_counters_key() -> str:
    # Under the cache's prefix: two portals sharing one Redis (or two test runs) keep apart.
    return f"{settings.CACHES['default'].get('KEY_PREFIX', 'qms')}:metrics:celery"


def _count_task_event(event: str, sender) -> None:
    """A metric must never fail a task, nor hold every task up by a timeout while Redis is
    away: after one failure this process skips counting for a few seconds (redis_resting)."""
    url = settings.REDIS_CLIENT_URL
    if redis_resting(url):
        return
    name = getattr(sender, "name", None) or str(sender)
    try:
        redis_client().hincrby(celery_counters_key(), f"{event}|{name}", 1)
    except (redis.RedisError, OSError) as error:
        redis_failed(url)
        logger.debug("task metric not counted", extra={"error": type(error).__name__})


@task_postrun.connect(weak=False)
def _count_run(sender=None, **kwargs) -> None:
    """Every execution, whatever its outcome (a retried task counts once per attempt)."""
    _count_task_event("runs", sender)


@task_failure.connect(weak=False)
def _count_failure(sender=None, **kwargs) -> None:
    """A task that raised and will not be retried (retries exhausted or not retryable)."""
    _count_task_event("failures", sender)


@task_retry.connect(weak=False)
def _count_retry(sender=None, **kwargs) -> None:
    _count_task_event("retries", sender)


# State at scrape time ---------------------------------------------------------------------


def _last_line(path: Path, block: int = 4096) -> str | None:
    """The file's last non-empty line, read from its end: the checkpoint log gains a line a
    minute and a scrape must not read it all."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - block))
            lines = [line for line in handle.read().split(b"\n") if line.strip()]
    except FileNotFoundError:
        return None
    return lines[-1].decode() if lines else None


class PortalStateCollector(Collector):
    """Gauges read when Prometheus scrapes: few queries, one Redis round trip."""

    def collect(self) -> Iterator:
        now = timezone.now()
        yield from self._queue()
        yield from self._outbox(now)
        yield from self._complaints(now)
        yield from self._audit_checkpoint(now)
        yield from self._redis_state()

    def _queue(self) -> Iterator:
        """Messages waiting in the default queue (a Redis list; those a worker took are not in it)."""
        from qms_portal.celery import app as celery_app

        queue = celery_app.conf.task_default_queue
        try:
            with celery_app.connection_for_read() as connection:
                length = connection.default_channel.client.llen(queue)
        except Exception as error:  # the broker away: the figure is left out, /healthz says why
            logger.debug("queue length not read", extra={"error": type(error).__name__})
            return
        family = GaugeMetricFamily("qms_celery_queue_length", "Tasks waiting for a worker.", labels=["queue"])
        family.add_metric([queue], length)
        yield family

    def _outbox(self, now) -> Iterator:
        from apps.core.models import OutboundEmail

        status = OutboundEmail.Status
        found = OutboundEmail.objects.aggregate(
            queued=Count("pk", filter=Q(status=status.QUEUED)),
            sending=Count("pk", filter=Q(status=status.SENDING)),
            failed=Count("pk", filter=Q(status=status.FAILED)),
            oldest_unsent=Min("created_at", filter=Q(status__in=OutboundEmail.UNSENT)),
        )
        emails = GaugeMetricFamily("qms_outbox_emails", "E-mails in the outbox by status.", labels=["status"])
        for name in ("queued", "sending", "failed"):
            emails.add_metric([name], found[name])
        yield emails
        oldest = found["oldest_unsent"]
        yield GaugeMetricFamily(
            "qms_outbox_oldest_unsent_age_seconds",
            "Age of the oldest queued or sending e-mail (0 when none waits).",
            value=(now - oldest).total_seconds() if oldest else 0,
        )

    def _complaints(self, now) -> Iterator:
        # apps/core does not import domain apps; the model is looked up by name, and its
        # overdue() is the same rule the SLA pages and escalations use.
        complaint = apps.get_model("complaints", "Complaint")
        overdue = complaint.objects.overdue(now=now)
        stages = {
            str(stage): Count("pk", filter=complaint.stage_missed_q(due, done, now))
            for stage, (due, done) in complaint.STAGE_FIELDS.items()
        }
        found = overdue.aggregate(total=Count("pk"), **stages)
        yield GaugeMetricFamily(
            "qms_complaints_sla_breached", "Open complaints past at least one SLA due date.", value=found.pop("total")
        )
        by_stage = GaugeMetricFamily(
            "qms_complaints_sla_breached_by_stage", "Open complaints past the due date of a stage.", labels=["stage"]
        )
        for stage, count in found.items():
            by_stage.add_metric([stage], count)
        yield by_stage

    def _audit_checkpoint(self, now) -> Iterator:
        line = _last_line(Path(settings.AUDIT_CHECKPOINT_PATH))
        if line is None:
            return  # no checkpoint yet: the metric is absent (alert on absent() once live)
        try:
            checkpoint = json.loads(line)
            signed_at = timezone.datetime.fromisoformat(checkpoint["signed_at"])
        except (ValueError, KeyError, TypeError):
            return
        yield GaugeMetricFamily(
            "qms_audit_checkpoint_age_seconds",
            "Time since the last signed checkpoint of the audit chain.",
            value=(now - signed_at).total_seconds(),
        )
        yield GaugeMetricFamily(
            "qms_audit_checkpoint_seq", "Audit entry the last checkpoint signed.", value=int(checkpoint["seq"])
        )

    def _redis_state(self) -> Iterator:
        from apps.core.tasks import HEARTBEAT_KEY  # the tasks module imports this one

        try:
            with redis_client().pipeline(transaction=False) as pipe:
                pipe.hgetall(celery_counters_key())
                pipe.hgetall(BEAT_LAST_SENT_KEY)
                pipe.mget(BEAT_HEARTBEAT_KEY, HEARTBEAT_KEY)
                counters, last_sent, (beat_seen, worker_seen) = pipe.execute()
        except (redis.RedisError, OSError):
            yield GaugeMetricFamily("qms_redis_up", "Whether the scrape could read Redis.", value=0)
            return
        yield GaugeMetricFamily("qms_redis_up", "Whether the scrape could read Redis.", value=1)
        families = {
            event: CounterMetricFamily(f"qms_celery_task_{event}", f"Celery task {event}, by task.", labels=["task"])
            for event in TASK_EVENTS
        }
        for field, value in sorted(counters.items()):
            event, _, task = field.partition("|")
            if event in families:
                families[event].add_metric([task], int(value))
        yield from families.values()
        sent = GaugeMetricFamily(
            "qms_beat_last_sent_timestamp_seconds", "When beat last sent each scheduled job.", labels=["job"]
        )
        for job, moment in sorted(last_sent.items()):
            sent.add_metric([job], float(moment))
        yield sent
        for name, help_text, stamp in (
            ("qms_beat_heartbeat_timestamp_seconds", "Beat's last scheduler tick.", beat_seen),
            ("qms_worker_canary_timestamp_seconds", "When a worker last consumed the canary task.", worker_seen),
        ):
            if stamp:
                yield GaugeMetricFamily(name, help_text, value=timezone.datetime.fromisoformat(stamp).timestamp())


# The endpoint -------------------------------------------------------------------------------


def _registry() -> CollectorRegistry:
    # Without auto_describe: registering must not run the collectors' queries a second time.
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(_http_registry)
    registry.register(PortalStateCollector())
    return registry


def _plain(status: int, text: str, **headers: str) -> HttpResponse:
    return HttpResponse(f"{text}\n", status=status, content_type="text/plain; charset=utf-8", headers=headers)


def _digest(value: str) -> bytes:
    # Compared as digests: equal lengths, so compare_digest's time says nothing about the token.
    return hashlib.sha256(value.encode()).digest()


@never_cache
@require_GET
def metrics_view(request):
    token = settings.METRICS_TOKEN
    if not token:
        return _plain(404, "metrics are off: set METRICS_TOKEN to turn them on")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        return _plain(401, "metrics need Authorization: Bearer <METRICS_TOKEN>", **{"WWW-Authenticate": "Bearer"})
    if not hmac.compare_digest(_digest(given.strip()), _digest(token)):
        return _plain(403, "metrics token not accepted")
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
