"""Settings of the gunicorn servers the web bench starts (bench_web.py): the production
settings, pointed at the bench's own test database and Redis database, over plain HTTP on
127.0.0.1, with the public forms' per-address rate limits lifted (every request comes from
one address) and the bench's reference views routed (tests/bench/web_urls.py)."""

import os

from qms_portal.settings import test as _test

# Production refuses to start without these; the bench reuses the test run's values.
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
os.environ.setdefault("SITE_URL", "http://127.0.0.1")
os.environ["SECURE_SSL_REDIRECT"] = "0"

from qms_portal.settings.production import *  # noqa: F403

DATABASES = _test.DATABASES
DATABASES["default"]["NAME"] = _test.TEST_DATABASE_NAME
CACHES = _test.CACHES
CELERY_BROKER_URL = _test.CELERY_BROKER_URL
CELERY_TASK_DEFAULT_QUEUE = _test.CELERY_TASK_DEFAULT_QUEUE
ALLOWED_HOSTS = ["127.0.0.1"]
ROOT_URLCONF = "tests.bench.web_urls"
# No collectstatic for a bench: serve the files as they are.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
FEEDBACK_PUBLIC_RATE_LIMIT = 10**9
EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
