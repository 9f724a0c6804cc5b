"""Settings of the Celery worker the dispatch bench starts (bench_dispatch.py): the test
settings on the bench's own test database, every e-mail discarded, sending allowed round
the clock (the bench must not depend on the hour it runs)."""

from qms_portal.settings.test import *  # noqa: F403
from qms_portal.settings.test import DATABASES, TEST_DATABASE_NAME

DATABASES["default"]["NAME"] = TEST_DATABASE_NAME
EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
SURVEY_SEND_WINDOW = (0, 24)
