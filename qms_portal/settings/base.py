"""Settings shared by every mode. Values from outside come through qms_portal.env."""

from __future__ import annotations

from datetime import timedelta

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from qms_portal.env import BASE_DIR, VAR_DIR, env, env_bool, env_int, env_list, redis_urls

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env("SECRET_KEY", required=True)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# /admin/ is a second sign-in page and a second view of every table, outside the roles' scoping,
# at the address scanners try first; the pages and the API do the daily work, so production
# serves it only when asked to. The app stays installed either way (its migrations, templates).
ADMIN_ENABLED = env_bool("ADMIN_ENABLED", False)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "django_countries",
    "apps.core",
    "apps.accounts",
    "apps.audit",
    "apps.customers",
    "apps.requirements",
    "apps.actions",
    "apps.complaints",
    "apps.feedback",
    "apps.surveys",
    "apps.analytics",
    "apps.objectives",
    "apps.reviews",
    "apps.evidence",
    "apps.dashboard",
]

MIDDLEWARE = [
    # First, so that every line logged while answering carries the request's id.
    "apps.core.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After WhiteNoise (static files are not counted), before everything else that answers.
    "apps.core.metrics.MetricsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Inside the authentication, so that it sees who was answered (also when signed in by API token).
    "apps.core.middleware.PrivateNoStoreMiddleware",
    # Before any view or CSRF check reads the body.
    "apps.core.middleware.RequestSizeLimitMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, so that a locked-out login is answered before any view runs.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "qms_portal.urls"
WSGI_APPLICATION = "qms_portal.wsgi.application"
ASGI_APPLICATION = "qms_portal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.core.context_processors.navigation",
            ],
        },
    },
]

# Database ------------------------------------------------------------------


def _database(url: str) -> dict:
    config = dj_database_url.parse(url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60), conn_health_checks=True)
    # A socket directory given as ?host=/path reads better as HOST.
    if "host" in config.get("OPTIONS", {}):
        config["HOST"] = config["OPTIONS"].pop("host")
    config["ATOMIC_REQUESTS"] = False
    return config


DATABASE_URL = env("DATABASE_URL", required=True)
DATABASES = {"default": _database(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# How long one step of `migrate` waits for a lock before giving up (PostgreSQL units, "0" = forever);
# while it waits, every query on that table queues behind it (apps/core/management/commands/migrate.py).
MIGRATION_LOCK_TIMEOUT = env("MIGRATION_LOCK_TIMEOUT", "5s")

# Redis, cache, Celery --------------------------------------------------------

REDIS_URL = env("REDIS_URL", required=True)
REDIS_CLIENT_URL, CELERY_BROKER_URL = redis_urls(REDIS_URL)

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_CLIENT_URL,
        "KEY_PREFIX": "qms",
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}

# Redis is the broker, not the record: jobs that matter are rows first
# (apps/core OutboundEmail, later campaign sends and report builds), and a
# sweeper re-enqueues rows left behind by a lost message or a killed worker.
CELERY_RESULT_BACKEND = CELERY_BROKER_URL
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A message not acknowledged within the visibility timeout is redelivered, so
# every task must be killed well before then or it would run twice.
CELERY_BROKER_VISIBILITY_TIMEOUT = 3600
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT}
CELERY_TASK_TIME_LIMIT = 15 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 14 * 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Each job once per period, even with two beats running by mistake (apps/core/beat.py).
CELERY_BEAT_SCHEDULER = "apps.core.beat.OncePerPeriodScheduler"
WORKER_CANARY_SECONDS = env_int("WORKER_CANARY_SECONDS", 60)
CELERY_BEAT_SCHEDULE = {
    # Every minute (WORKER_CANARY_SECONDS): proves to /healthz that a worker is consuming.
    "core.canary": {
        "task": "core.canary",
        "schedule": timedelta(seconds=WORKER_CANARY_SECONDS),
        "options": {"expires": max(1, WORKER_CANARY_SECONDS - 10)},
    },
    # Every minute: sign the audit chain's head into the checkpoint log (nothing when unchanged),
    # so what the database owner could still rewrite unnoticed is at most the last minute.
    "audit.sign_checkpoint": {
        "task": "audit.sign_checkpoint",
        "schedule": timedelta(minutes=1),
        "options": {"expires": 50},
    },
    # Every five minutes: re-queue evidence packs whose build was lost or stalled; delete expired ones.
    "evidence.sweep_packs": {
        "task": "evidence.sweep_packs",
        "schedule": timedelta(minutes=5),
        "options": {"expires": 4 * 60},
    },
    # Every five minutes: re-enqueue e-mails whose message was lost or whose worker died.
    "core.sweep_outbox": {
        "task": "core.sweep_outbox",
        "schedule": timedelta(minutes=5),
        "options": {"expires": 4 * 60},
    },
    # Every night at 02:30 UTC: pseudonymise contacts inactive past CONTACT_RETENTION_DAYS.
    "customers.apply_retention": {
        "task": "customers.apply_retention",
        "schedule": crontab(hour=2, minute=30),
        "options": {"expires": 60 * 60},
    },
    # Every night at 02:40 and 02:50 UTC: erase complainants and feedback submitters past
    # COMPLAINT_ / FEEDBACK_PERSONAL_DATA_RETENTION_DAYS.
    "complaints.apply_retention": {
        "task": "complaints.apply_retention",
        "schedule": crontab(hour=2, minute=40),
        "options": {"expires": 60 * 60},
    },
    "feedback.apply_retention": {
        "task": "feedback.apply_retention",
        "schedule": crontab(hour=2, minute=50),
        "options": {"expires": 60 * 60},
    },
    # Every five minutes: complaint SLA warnings and breaches, each escalated exactly once.
    "complaints.check_sla": {
        "task": "complaints.check_sla",
        "schedule": timedelta(minutes=5),
        "options": {"expires": 4 * 60},
    },
    # Every day at 06:00 UTC: e-mail owners of overdue corrective-action items (once per item per day).
    "actions.remind_overdue_items": {
        "task": "actions.remind_overdue_items",
        "schedule": crontab(hour=6, minute=0),
        "options": {"expires": 60 * 60},
    },
    # Every night at 03:15 UTC: delete delivered e-mails past their retention period.
    "core.purge_outbox": {
        "task": "core.purge_outbox",
        "schedule": crontab(hour=3, minute=15),
        "options": {"expires": 60 * 60},
    },
    # Every minute: claim due survey campaigns (at most 50), plan the next minute of invitation
    # and reminder batches inside SURVEY_SEND_WINDOW (at most 200 waves), close waves past their date.
    "surveys.tick": {
        "task": "surveys.tick",
        "schedule": timedelta(minutes=1),
        "options": {"expires": 50},
    },
    # Every minute: fold the days touched by new or changed complaints, feedback and survey
    # answers into the dashboard roll-ups (at most ANALYTICS_REFRESH_BATCH days per run).
    "analytics.refresh_rollups": {
        "task": "analytics.refresh_rollups",
        "schedule": timedelta(minutes=1),
        "options": {"expires": 50},
    },
    # Every night at 00:20 UTC: freeze the active-customer count of the month that just ended,
    # the complaint u-chart's exposure for that month from then on (one row, never rewritten).
    "analytics.record_monthly_exposure": {
        "task": "analytics.record_monthly_exposure",
        "schedule": crontab(hour=0, minute=20),
        "options": {"expires": 60 * 60},
    },
    # Every night at 01:30 UTC: measure every active objective with a computed KPI for the
    # current and the just-finished period (replacing, never duplicating, a period's value).
    "objectives.measure_all": {
        "task": "objectives.measure_all",
        "schedule": crontab(hour=1, minute=30),
        "options": {"expires": 60 * 60},
    },
    # Every five minutes: create, compile and send the management reviews whose scheduled
    # compilation time has come (each period once), and re-queue review jobs that were lost.
    "reviews.tick": {
        "task": "reviews.tick",
        "schedule": timedelta(minutes=5),
        "options": {"expires": 4 * 60},
    },
    "reviews.sweep_jobs": {
        "task": "reviews.sweep_jobs",
        "schedule": timedelta(minutes=5),
        "options": {"expires": 4 * 60},
    },
}
# Celery's Django fixup (5.5+) closes every database connection before and after each task
# unless this is set, so each batch task opened a new PostgreSQL session. With it the fixup
# closes them only every this many tasks, and apps/core/tasks.py drops a connection that
# is broken or older than CONN_MAX_AGE, as Django does per request.
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 1000)
# How long a worker may be silent before /healthz reports it missing.
WORKER_HEARTBEAT_MAX_AGE = timedelta(minutes=3)
# /metrics answers only with `Authorization: Bearer <METRICS_TOKEN>`; unset, it is a 404
# (apps/core/metrics.py). gunicorn's processes are summed through PROMETHEUS_MULTIPROC_DIR,
# which qms_portal/gunicorn.py makes at start unless set.
METRICS_TOKEN = env("METRICS_TOKEN", "")

# Analytics roll-ups ----------------------------------------------------------
# Days folded into the roll-ups per refresh run; a backlog larger than this drains over
# several minutes instead of holding one long transaction.
ANALYTICS_REFRESH_BATCH = env_int("ANALYTICS_REFRESH_BATCH", 400)

# Accounts, login security ----------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "apps.accounts.backends.PortalModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "dashboard:home"
LOGOUT_REDIRECT_URL = "accounts:login"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 2

# Five failures for one e-mail from one address lock that pair out for 15 minutes.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# Every spelling of an address counts against one identity (apps/accounts/login.py), and the
# API's locked reply is JSON like its other errors.
AXES_USERNAME_CALLABLE = "apps.accounts.login.axes_username"
AXES_LOCKOUT_CALLABLE = "apps.accounts.login.lockout_response"
# How many reverse proxies in front of the portal append to X-Forwarded-For (docker-compose's
# proxy: 1). The lockout, the API throttles and the public forms' limits all take the client
# address from apps.core.client, which trusts exactly this many entries and none when 0.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "apps.core.client.client_address"

# Database sessions; an outage while saving one answers 503, not 400 (apps/core/sessions.py).
SESSION_ENGINE = "apps.core.sessions"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"

# Security headers ------------------------------------------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# I18N, time ------------------------------------------------------------------

LANGUAGE_CODE = "en"
# Pages follow the browser's Accept-Language; e-mails to a complainant or feedback submitter
# use the language of the page they filed on. The catalogue covers what customers see; staff
# strings without a translation stay English.
LANGUAGES = [("en", _("English")), ("de", _("German"))]
# Compiled catalogues are committed, so neither CI nor the image needs gettext.
LOCALE_PATHS = [BASE_DIR / "locale"]
# Stored in UTC; the organisation's zone is for display, SLA clocks and schedules.
TIME_ZONE = env("TIME_ZONE", "Europe/Berlin")
USE_I18N = True
USE_TZ = True

# Static and media --------------------------------------------------------------

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env("STATIC_ROOT", str(BASE_DIR / "staticfiles"))
# Uploaded files live outside the web root and are served only by views that check access.
MEDIA_ROOT = env("MEDIA_ROOT", str(VAR_DIR / "media"))
# `manage.py backup` writes here (make backup); keep it on another disk or copy it off the machine.
BACKUP_ROOT = env("BACKUP_ROOT", str(VAR_DIR / "backups"))
# Backups are encrypted to these age public keys (age1..., comma-separated): this machine can
# write backups but not read them. The matching identity file stays off the machine and is
# brought to it (BACKUP_IDENTITY_FILE) only to restore.
BACKUP_RECIPIENTS = env_list("BACKUP_RECIPIENTS", [])
BACKUP_IDENTITY_FILE = env("BACKUP_IDENTITY_FILE", "")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# E-mail ------------------------------------------------------------------------

EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "QMS Portal <qms@example.com>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# What is left of a sent e-mail (template, the record it concerned, times, attempts: its
# address and words go once it is sent) is kept this long as evidence of communication.
OUTBOX_RETENTION_DAYS = env_int("OUTBOX_RETENTION_DAYS", 90)
# A queued e-mail not sent after this long is handed to a worker again.
OUTBOX_STALE_AFTER = timedelta(minutes=10)
OUTBOX_MAX_ATTEMPTS = 8
# An e-mail given up on keeps its (sealed) content this long after its last attempt, for a
# quality manager to resend from the failed e-mails page; then only the failure is kept.
OUTBOX_FAILED_KEEP_DAYS = env_int("OUTBOX_FAILED_KEEP_DAYS", 14)

# `seed_demo` refuses to run unless a development mode turns this on.
DEMO_DATA_ALLOWED = False

# Personal data at rest (apps/core/crypto.py): Fernet master keys, comma-separated,
# newest first; and the key of the blind index used to look people up by e-mail.
FIELD_ENCRYPTION_KEY = env("FIELD_ENCRYPTION_KEY", required=True)
BLIND_INDEX_KEY = env("BLIND_INDEX_KEY", required=True)
# The portal's Ed25519 key (base64 of the 32-byte private key, `manage.py generate_signing_key`):
# it signs the audit chain's checkpoints (every minute) and the evidence packs' manifests. After a
# rotation, put the old public keys in AUDIT_TRUSTED_PUBLIC_KEYS so older checkpoints verify.
PORTAL_SIGNING_KEY = env("PORTAL_SIGNING_KEY", required=True)
AUDIT_TRUSTED_PUBLIC_KEYS = env_list("AUDIT_TRUSTED_PUBLIC_KEYS", [])
# Append-only log of signed checkpoints; keep it outside the database (and ideally on storage
# that database administrators cannot rewrite), since it is what a rewritten chain is checked against.
AUDIT_CHECKPOINT_PATH = env("AUDIT_CHECKPOINT_PATH", f"{MEDIA_ROOT}/audit/checkpoints.jsonl")
# The clause map's heat map marks a clause's month "thin" below this many records.
EVIDENCE_THIN_BELOW = env_int("EVIDENCE_THIN_BELOW", 3)
# Evidence packs (ZIP files under MEDIA_ROOT/evidence) are deleted this many days after they are built.
EVIDENCE_PACK_RETENTION_DAYS = env_int("EVIDENCE_PACK_RETENTION_DAYS", 30)
# One user may have this many evidence packs queued or building at once, and request this many
# an hour (an identical request returns the pack already asked for and counts for neither): each
# build reads a whole period of records, and one account must not occupy the workers.
EVIDENCE_PACK_MAX_ACTIVE_PER_USER = env_int("EVIDENCE_PACK_MAX_ACTIVE_PER_USER", 3)
EVIDENCE_PACK_MAX_PER_HOUR = env_int("EVIDENCE_PACK_MAX_PER_HOUR", 10)
# Contacts with no interaction, consent or change for this long are pseudonymised nightly.
CONTACT_RETENTION_DAYS = env_int("CONTACT_RETENTION_DAYS", 3 * 365)

# Requirement reviews (8.2.3): with four eyes on, nobody approves a requirement they wrote.
REQUIREMENTS_FOUR_EYES = env_bool("REQUIREMENTS_FOUR_EYES", True)
# Public address of the portal, for links in e-mails sent by background jobs.
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# Management reviews (9.3): scheduled inputs are compiled at this local hour of their day; the
# report PDF goes out as an attachment up to this size, above it as a link only. A job whose
# worker has been silent this long is handed to another worker.
REVIEW_COMPILE_HOUR = env_int("REVIEW_COMPILE_HOUR", 6)
REVIEW_REPORT_ATTACH_MAX_BYTES = env_int("REVIEW_REPORT_ATTACH_MAX_BYTES", 5 * 1024 * 1024)
REVIEW_JOB_STALE_SECONDS = env_int("REVIEW_JOB_STALE_SECONDS", 10 * 60)
# A queued review job whose message has not started a run by then is sent again (lost message).
REVIEW_JOB_QUEUED_GRACE_SECONDS = env_int("REVIEW_JOB_QUEUED_GRACE_SECONDS", 2 * 60)
# Corrective actions: default effectiveness check this many days after implementation.
ACTIONS_EFFECTIVENESS_DAYS = env_int("ACTIONS_EFFECTIVENESS_DAYS", 90)

# Complaints (ISO 10002). SLA clocks count working time in TIME_ZONE: WORKING_HOURS on
# Monday to Friday, minus public holidays of HOLIDAY_COUNTRY.
WORKING_HOURS = (env_int("WORKING_HOURS_START", 8), env_int("WORKING_HOURS_END", 17))
HOLIDAY_COUNTRY = env("HOLIDAY_COUNTRY", "DE")
# An SLA warning goes out once this share (in percent) of a stage's working time is used.
COMPLAINT_SLA_WARNING_PERCENT = env_int("COMPLAINT_SLA_WARNING_PERCENT", 80)
COMPLAINT_ATTACHMENT_TYPES = env_list(
    "COMPLAINT_ATTACHMENT_TYPES", ["application/pdf", "image/png", "image/jpeg", "text/plain"]
)
COMPLAINT_ATTACHMENT_MAX_BYTES = env_int("COMPLAINT_ATTACHMENT_MAX_BYTES", 5 * 1024 * 1024)
# The largest request body taken at all: a complaint's five attachments and its text.
REQUEST_MAX_BYTES = env_int("REQUEST_MAX_BYTES", 5 * COMPLAINT_ATTACHMENT_MAX_BYTES + 1024 * 1024)
COMPLAINT_REOPEN_DAYS = env_int("COMPLAINT_REOPEN_DAYS", 14)
COMPLAINT_RECURRENCE_COUNT = env_int("COMPLAINT_RECURRENCE_COUNT", 3)
COMPLAINT_RECURRENCE_DAYS = env_int("COMPLAINT_RECURRENCE_DAYS", 30)
# The complainant's (and a feedback submitter's) personal data is erased this long after the
# last change to a finished complaint (to any feedback); the quality record stays.
COMPLAINT_PERSONAL_DATA_RETENTION_DAYS = env_int("COMPLAINT_PERSONAL_DATA_RETENTION_DAYS", 3 * 365)
FEEDBACK_PERSONAL_DATA_RETENTION_DAYS = env_int("FEEDBACK_PERSONAL_DATA_RETENTION_DAYS", 2 * 365)

# Satisfaction surveys (9.1.2). Invitations and reminders go out only inside the daytime
# window (hours in TIME_ZONE); a low score creates follow-up feedback; results resting on
# fewer responses than SURVEY_MIN_RESPONSES carry a warning.
SURVEY_SEND_WINDOW = (env_int("SURVEY_SEND_WINDOW_START", 8), env_int("SURVEY_SEND_WINDOW_END", 20))
SURVEY_DISPATCH_BATCH_SIZE = env_int("SURVEY_DISPATCH_BATCH_SIZE", 200)
SURVEY_FOLLOW_UP_NPS_MAX = env_int("SURVEY_FOLLOW_UP_NPS_MAX", 6)
SURVEY_FOLLOW_UP_CSAT_MAX = env_int("SURVEY_FOLLOW_UP_CSAT_MAX", 2)
SURVEY_MIN_RESPONSES = env_int("SURVEY_MIN_RESPONSES", 30)

# A requirement in review longer than this is shown as overdue.
REQUIREMENTS_REVIEW_DUE_DAYS = env_int("REQUIREMENTS_REVIEW_DUE_DAYS", 10)
# Public feedback form: at most this many submissions per client address per window.
FEEDBACK_PUBLIC_RATE_LIMIT = env_int("FEEDBACK_PUBLIC_RATE_LIMIT", 5)
FEEDBACK_PUBLIC_RATE_WINDOW_SECONDS = env_int("FEEDBACK_PUBLIC_RATE_WINDOW_SECONDS", 600)
# Public complaint form and tracking page, likewise.
COMPLAINT_PUBLIC_RATE_LIMIT = env_int("COMPLAINT_PUBLIC_RATE_LIMIT", 5)
COMPLAINT_PUBLIC_RATE_WINDOW_SECONDS = env_int("COMPLAINT_PUBLIC_RATE_WINDOW_SECONDS", 600)
# Password reset: at most this many reset e-mails per address, and requests per client address,
# per window. Over the address's limit the page looks the same and nothing is sent (a mailbox is
# not flooded from rotating clients); over the client's, the client is asked to wait.
PASSWORD_RESET_RATE_LIMIT_PER_ADDRESS = env_int("PASSWORD_RESET_RATE_LIMIT_PER_ADDRESS", 3)
PASSWORD_RESET_RATE_LIMIT_PER_CLIENT = env_int("PASSWORD_RESET_RATE_LIMIT_PER_CLIENT", 10)
PASSWORD_RESET_RATE_WINDOW_SECONDS = env_int("PASSWORD_RESET_RATE_WINDOW_SECONDS", 3600)

# REST API ----------------------------------------------------------------------

REST_FRAMEWORK = {
    # Bearer first, so an unauthenticated call gets 401 with a WWW-Authenticate challenge.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Default deny: every view must declare who may use it.
    "DEFAULT_PERMISSION_CLASSES": ["apps.core.permissions.DenyAll"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.api.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.api.exceptions.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"token": "10/minute"},
}
# An API token (POST /api/v1/auth/token/) works this many days, unless revoked sooner.
API_TOKEN_LIFETIME_DAYS = env_int("API_TOKEN_LIFETIME_DAYS", 30)
if API_TOKEN_LIFETIME_DAYS < 1:
    raise ImproperlyConfigured("API_TOKEN_LIFETIME_DAYS must be at least 1.")
SPECTACULAR_SETTINGS = {
    "TITLE": "QMS Portal API",
    "DESCRIPTION": "Customer-focus records of an ISO 9001 quality management system.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["apps.accounts.permissions.IsActiveUser"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # 3.1 is JSON Schema 2020-12: a nullable reference is `oneOf: [$ref, {type: null}]`, which
    # 3.0 cannot say (its `nullable` beside a `$ref` is ignored), and responses validate against
    # the components with any JSON Schema validator (tests/api_schema.py).
    "OAS_VERSION": "3.1.0",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.core.api.schema.document_errors",
        "apps.core.api.schema.blank_defaults_match_their_schema",
    ],
}

# Logging: one JSON object per line on stdout, personal data masked -------------

# In every environment, development included: one format to read, and `make run` shows what
# production will write. Time in UTC; the request id on every line of a request and of the tasks it
# enqueued (apps/core/request_id.py). Celery's worker and beat log through this too, and gunicorn
# uses the same formatter (apps/core/logging.py).
LOG_LEVEL = env("LOG_LEVEL", "INFO")
LOGGING_CONFIG = "apps.core.logging.configure"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request": {"()": "apps.core.log_filters.RequestContext"},
        "redact": {"()": "apps.core.log_filters.RedactPersonalData"},
    },
    "formatters": {"json": {"()": "apps.core.logging.JsonFormatter"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "json",
            "filters": ["request", "redact"],
        }
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        # Replaces Django's own console handlers, so every line is JSON.
        "django": {"handlers": ["stdout"], "level": LOG_LEVEL, "propagate": False},
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}

# Error reports: to Sentry when SENTRY_DSN is set, personal data scrubbed (apps/core/sentry.py).
SENTRY_DSN = env("SENTRY_DSN", "")
if SENTRY_DSN:
    from apps.core.sentry import sentry_init

    try:
        _sentry_traces = float(env("SENTRY_TRACES_SAMPLE_RATE", "0"))
    except ValueError as error:
        raise ImproperlyConfigured("SENTRY_TRACES_SAMPLE_RATE must be a number between 0 and 1.") from error
    sentry_init(
        dsn=SENTRY_DSN,
        environment=env("SENTRY_ENVIRONMENT", "production"),
        release=env("SENTRY_RELEASE", "") or None,
        traces_sample_rate=_sentry_traces,
    )
