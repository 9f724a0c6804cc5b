"""Every line the portal's processes write is one JSON object with a UTC time (#23): Django's
(settings LOGGING), gunicorn's access and error logs (apps.core.log_filters.RedactingGunicornLogger),
and the Celery worker's and beat's own lines, which Celery would otherwise write as text behind a
banner. A log collector then reads every line the same way, and none is stamped in the server's
local time.

Kept free of Django imports: qms_portal.celery imports it before settings are loaded.
"""

from __future__ import annotations

import logging
import logging.config

from celery.apps import beat as celery_beat
from celery.apps import worker as celery_worker
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

logger = logging.getLogger(__name__)


class JsonFormatter(_JsonFormatter):
    """`{"level", "logger", "message", "time"}` plus the record's extra fields; `time` is ISO 8601
    in UTC. Tracebacks are masked like messages: an exception's text often quotes the address or
    link it failed on, and RedactPersonalData sees only the message and the extra fields."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", "time")
        super().__init__(*args or ("%(levelname)s %(name)s %(message)s",), **kwargs)

    def formatException(self, ei) -> str:
        from apps.core.log_filters import redact

        return redact(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        from apps.core.log_filters import redact

        return redact(super().formatStack(stack_info))


def configure(logging_settings: dict) -> None:
    """Django's LOGGING_CONFIG: the dictConfig, and Python's warnings (a deprecation, Celery's
    running-as-root notice) as log lines rather than text on stderr."""
    logging.config.dictConfig(logging_settings)
    logging.captureWarnings(True)


# Celery ------------------------------------------------------------------------------------------


def _setup_celery_logging(loglevel=None, **_kwargs) -> None:
    """Celery's setup_logging signal: with a receiver Celery leaves logging alone instead of
    replacing the root handlers with its text format. The worker and beat then log through the
    project's LOGGING; `--loglevel` can only make them more talkative than LOG_LEVEL."""
    from django.conf import settings

    configure(settings.LOGGING)
    if isinstance(loglevel, int) and loglevel:
        root = logging.getLogger()
        root.setLevel(min(root.level, loglevel))


class JsonWorker(celery_worker.Worker):
    """`celery worker` without its text banner (its facts go into one JSON line) and without the
    text it prints on SIGTERM; what tasks print still goes through the logger, as Celery does."""

    def on_before_init(self, quiet=False, **kwargs):
        super().on_before_init(quiet=True, **kwargs)

    def on_start(self):
        super().on_start()
        logger.info(
            "celery worker %s starting",
            self.hostname,
            extra={
                "concurrency": self.concurrency,
                "pool": getattr(self.pool_cls, "__module__", str(self.pool_cls)),
                "queues": sorted(self.app.amqp.queues.consume_from),
            },
        )
        # Celery redirects print() to its logger only when it set up logging itself.
        if self.redirect_stdouts:
            self.app.log.redirect_stdouts(self.redirect_stdouts_level)

    def install_platform_tweaks(self, worker):
        super().install_platform_tweaks(worker)
        # Same handlers, without "worker: Warm shutdown (MainProcess)" written past the logger.
        celery_worker.install_worker_term_handler(worker, verbose=False)
        celery_worker.install_worker_term_hard_handler(worker, verbose=False)


class JsonBeat(celery_beat.Beat):
    """`celery beat` without the text banner it prints before logging is set up; it logs
    "beat: Starting..." itself."""

    def __init__(self, *args, quiet=False, **kwargs):
        super().__init__(*args, quiet=True, **kwargs)


def _worker_stopping(sig=None, how=None, **_kwargs) -> None:
    logger.info("celery worker: %s shutdown on %s", how, sig)


def connect_celery() -> None:
    """Hooks for qms_portal.celery: logging through LOGGING in workers and beats."""
    from celery import signals

    signals.setup_logging.connect(_setup_celery_logging, weak=False, dispatch_uid="qms-json-logging")
    signals.worker_shutting_down.connect(_worker_stopping, weak=False, dispatch_uid="qms-json-logging-stop")
