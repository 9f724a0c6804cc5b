"""Tests: real PostgreSQL and Redis (embedded unless the URLs are set)."""

import os

from qms_portal.env import default_to_embedded_servers

default_to_embedded_servers()
# Fixed test-only keys, so data written by one run is readable by the next.
os.environ.setdefault("FIELD_ENCRYPTION_KEY", "Axtxh8qElZaKz2_TBnq_wu-a3syhhDmgnr6PLNbtYU8=")
os.environ.setdefault("BLIND_INDEX_KEY", "uLhjVG1_s5lCa8lxujxDRtvfQYo9iIYYgSxp71U8Jtw")
os.environ.setdefault("PORTAL_SIGNING_KEY", "h5qdnpVfuiwWaIvF/fF2GYhaC/cBdncz3sBbW8tvBHA=")
os.environ.setdefault("SECRET_KEY", "test-only-insecure-key-never-used-in-production-0123456789abcdef")
os.environ["DEBUG"] = "0"

from .base import *  # noqa: E402, F403
from .base import REDIS_URL, env, env_bool, redis_urls  # noqa: E402

ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
# `make test` runs the suite in pytest-xdist worker processes (gw0, gw1, ...). pytest-django gives
# each its own test database; the name below keys everything else a worker owns, and children it
# starts (Celery workers, beats) inherit the variable, so they land on the same resources.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
XDIST_INDEX = int(XDIST_WORKER[2:]) if XDIST_WORKER.startswith("gw") else 0
# Tests use their own Redis database so they never touch development data: 15 for the first (or
# only) process, then 13, 12, ... (14 is the launcher test's); each keeps its broker, beat claims
# and heartbeat to itself.
REDIS_CLIENT_URL, CELERY_BROKER_URL = redis_urls(REDIS_URL, db=15 - XDIST_INDEX - (XDIST_INDEX > 0))
CACHES["default"]["LOCATION"] = REDIS_CLIENT_URL  # noqa: F405
CELERY_RESULT_BACKEND = CELERY_BROKER_URL
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
AXES_FAILURE_LIMIT = 5
MEDIA_ROOT = str(VAR_DIR / "test-media")  # noqa: F405
# Lets the test runner TRUNCATE the audit table between transactional tests
# (see apps/audit/migrations/0002_append_only.py); UPDATE and DELETE stay refused.
DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c qms.allow_audit_truncate=on"  # noqa: F405
DEMO_DATA_ALLOWED = True
# Static files straight from the app folders, as in development (no collectstatic before tests).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Two test runs on one server (e.g. two checkouts) need different database names;
# the name also keeps their cache keys and Celery queue apart in the shared Redis database.
TEST_DATABASE_NAME = env("TEST_DATABASE_NAME", "test_qms")
DATABASES["default"]["TEST"] = {"NAME": TEST_DATABASE_NAME}  # noqa: F405
RUN_NAME = f"{TEST_DATABASE_NAME}_{XDIST_WORKER}" if XDIST_WORKER else TEST_DATABASE_NAME
CACHES["default"]["KEY_PREFIX"] = f"qms-{RUN_NAME}"  # noqa: F405
CELERY_TASK_DEFAULT_QUEUE = f"celery-{RUN_NAME}"
# Checkpoints describe one database's chain: each test database keeps its own log.
AUDIT_CHECKPOINT_PATH = f"{MEDIA_ROOT}/audit/checkpoints-{RUN_NAME}.jsonl"
# The admin is there for developers (and the tests of its read-only pages); production opts in.
ADMIN_ENABLED = env_bool("ADMIN_ENABLED", True)
