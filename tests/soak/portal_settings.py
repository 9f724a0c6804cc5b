"""Settings of the processes `make soak` starts (gunicorn, Celery worker and beat): production
settings on the soak's own PostgreSQL and Redis (tests/soak/services.py), which the run stops
and starts to inject faults, over plain HTTP on 127.0.0.1. Every customer comes from one
address, so the per-address limits are lifted; sweepers run every few seconds so that a run
of minutes sees them recover what an outage left behind."""

import os
from datetime import timedelta

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
CELERY_BEAT_SCHEDULE = {"core.sweep_outbox": {"task": "core.sweep_outbox", "schedule": timedelta(seconds=5)}}
CELERY_BEAT_SCHEDULE_FILENAME = os.path.join(os.environ["SOAK_DIR"], "celerybeat-schedule")
# Short connection lifetimes: after PostgreSQL comes back, stale connections go quickly.
DATABASES["default"]["CONN_MAX_AGE"] = 5  # noqa: F405
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
