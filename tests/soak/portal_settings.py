"""Settings of the processes `make soak` starts (gunicorn, Celery worker and beat): production
settings on the soak's own PostgreSQL and Redis (tests/soak/services.py), which the run stops
and starts to inject faults, over plain HTTP on 127.0.0.1. Every customer comes from one
address, so the per-address limits are lifted; sweepers run every few seconds so that a run
of minutes sees them recover what an outage left behind."""

import os
from datetime import timedelta

from celery.schedules import crontab

os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
os.environ.setdefault("SITE_URL", "http://127.0.0.1")
os.environ["SECURE_SSL_REDIRECT"] = "0"
os.environ["DATABASE_URL"] = os.environ["SOAK_DATABASE_URL"]
os.environ["REDIS_URL"] = os.environ["SOAK_REDIS_URL"]

from qms_portal.settings.production import *  # noqa: F403

ALLOWED_HOSTS = ["127.0.0.1"]
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
FEEDBACK_PUBLIC_RATE_LIMIT = COMPLAINT_PUBLIC_RATE_LIMIT = 10**9
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST, EMAIL_PORT = "127.0.0.1", int(os.environ["SOAK_SMTP_PORT"])
EMAIL_USE_TLS = EMAIL_USE_SSL = False
MEDIA_ROOT = os.environ["SOAK_MEDIA_ROOT"]
OUTBOX_STALE_AFTER = timedelta(seconds=10)
# The two-beat drill (tests/soak/drills.py): the real schedule, and one crontab entry due every
# minute in place of the nightly purge, so that ten minutes see crontab entries fire too.
SOAK_PRODUCTION_SCHEDULE = {
    **{name: entry for name, entry in CELERY_BEAT_SCHEDULE.items() if name != "core.purge_outbox"},  # noqa: F405
    "core.purge_outbox": {"task": "core.purge_outbox", "schedule": crontab(minute="*")},
}
SOAK_SCHEDULE = os.environ.get("SOAK_SCHEDULE", "load")
if SOAK_SCHEDULE == "production":
    CELERY_BEAT_SCHEDULE = SOAK_PRODUCTION_SCHEDULE
elif SOAK_SCHEDULE == "faults":
    # The worker and broker drills (tests/soak/drills.py): ticks and sweepers every few seconds,
    # a stalled review job handed out again after eight seconds (a report takes about two).
    CELERY_BEAT_SCHEDULE = {
        "surveys.tick": {"task": "surveys.tick", "schedule": timedelta(seconds=5)},
        "reviews.sweep_jobs": {"task": "reviews.sweep_jobs", "schedule": timedelta(seconds=2)},
        "core.sweep_outbox": {"task": "core.sweep_outbox", "schedule": timedelta(seconds=5)},
    }
    SURVEY_SEND_WINDOW = (0, 24)
    SURVEY_DISPATCH_BATCH_SIZE = 50
    REVIEW_JOB_STALE_SECONDS = 8
    REVIEW_JOB_QUEUED_GRACE_SECONDS = 5
else:
    CELERY_BEAT_SCHEDULE = {"core.sweep_outbox": {"task": "core.sweep_outbox", "schedule": timedelta(seconds=5)}}
if "BEAT_PROBE_FILE" in os.environ:
    from tests import beat_probe

    beat_probe.install()
# Short connection lifetimes: after PostgreSQL comes back, stale connections go quickly.
DATABASES["default"]["CONN_MAX_AGE"] = 5  # noqa: F405
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
