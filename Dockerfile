# QMS Portal: one image for web (gunicorn), Celery worker, Celery beat and migrations.
# Production settings; configuration comes from the environment (see README.md).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=qms_portal.settings.production \
    QMS_VAR_DIR=/app/var

WORKDIR /app

RUN groupadd --system --gid 10001 qms \
    && useradd --system --uid 10001 --gid qms --home-dir /app --no-create-home --shell /usr/sbin/nologin qms

# The runtime group of the one list of system packages (WeasyPrint's Pango, HarfBuzz subset, a font).
COPY system-packages.txt .
RUN apt-get update \
    && apt-get install -y --no-install-recommends $(awk '!/^#/ && $2 == "runtime" {print $1}' system-packages.txt) \
    && rm -rf /var/lib/apt/lists/*

# Runtime dependencies only; every wheel in requirements.txt is binary or pure Python.
COPY requirements.txt .
RUN pip install -r requirements.txt

# Code is owned by root and read-only for the app user; only /app/var is writable.
COPY . .

# Production settings refuse to load without these, so collectstatic gets
# throwaway values for this one command. Nothing connects to them and they
# are not kept in the image's environment.
RUN SECRET_KEY="build-only-collectstatic-key-never-used-at-runtime-0123456789" \
    DATABASE_URL="postgres://build@127.0.0.1:5432/build" \
    REDIS_URL="redis://127.0.0.1:6379/0" \
    ALLOWED_HOSTS="localhost" \
    SITE_URL="https://build.invalid" \
    FIELD_ENCRYPTION_KEY="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" \
    BLIND_INDEX_KEY="build-only-blind-index-key-never-used-at-runtime" \
    PORTAL_SIGNING_KEY="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" \
    python manage.py collectstatic --noinput \
    && mkdir -p /app/var/media \
    && chown -R qms:qms /app/var

USER qms

EXPOSE 8000

# gunicorn's settings (threaded workers, one per core, access log to stdout) and how to
# tune them: qms_portal/gunicorn.py.
CMD ["gunicorn", "--config", "python:qms_portal.gunicorn", "qms_portal.wsgi:application"]
