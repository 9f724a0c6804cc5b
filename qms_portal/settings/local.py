"""Development: `make run`. Embedded servers unless DATABASE_URL / REDIS_URL are set."""

import os

from qms_portal.env import default_to_embedded_servers

default_to_embedded_servers()
# Fixed dev-only keys, so data written by one run is readable by the next.
os.environ.setdefault("FIELD_ENCRYPTION_KEY", "LnmawekZ7dVmdHMUKHvwsd42xK9mF7jSkWHH0NtgZfk=")
os.environ.setdefault("BLIND_INDEX_KEY", "Lax4yf1hdiGx4Dk5CFYxypZiMaUSnbmIt0lVTPq7vIw")
os.environ.setdefault("PORTAL_SIGNING_KEY", "pBG1Rbm4z0N3TtN6lqDKbU5xVUsIEwo1mUU3I5UIrZk=")
os.environ.setdefault("SECRET_KEY", "dev-only-insecure-key-never-used-in-production-0123456789abcdef")
os.environ.setdefault("DEBUG", "1")

from .base import *  # noqa: E402, F403
from .base import VAR_DIR, env, env_bool, env_list  # noqa: E402

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
# Development writes each e-mail to a file under var/mail (named in `make run`'s banner) unless
# another backend is configured: the console backend printed whole messages, private links and
# base64 PDFs included, into the log stream.
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = str(VAR_DIR / "mail")
DEMO_DATA_ALLOWED = True
# No manifest in development: static files come straight from the app folders, DEBUG on or off.
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# The admin is there for developers (and the tests of its read-only pages); production opts in.
ADMIN_ENABLED = env_bool("ADMIN_ENABLED", True)
