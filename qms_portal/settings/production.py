"""Production: every secret from the environment, nothing defaulted that matters.

Passes `manage.py check --deploy --fail-level WARNING` (tests/core/test_settings.py).
"""

import base64
import binascii

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DEBUG, PORTAL_SIGNING_KEY, SECRET_KEY, env, env_bool, env_int, env_list

if DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production.")
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 random characters.")
try:
    _signing_seed = base64.b64decode(PORTAL_SIGNING_KEY, validate=True)
except (binascii.Error, ValueError):
    _signing_seed = b""
if len(_signing_seed) != 32:
    # Found at start-up, not at the first checkpoint or evidence export.
    raise ImproperlyConfigured(
        "PORTAL_SIGNING_KEY must be the base64 of a 32-byte Ed25519 key (manage.py generate_signing_key)."
    )

SITE_URL = env("SITE_URL", required=True).rstrip("/")  # links in e-mails must point at the real portal
env("ALLOWED_HOSTS", required=True)  # fails loudly when unset or empty
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
# Health checks and Prometheus scrapes come over plain HTTP from inside the container network.
# A redirect would not protect the metrics token anyway: the request that gets it already sent it.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken"
