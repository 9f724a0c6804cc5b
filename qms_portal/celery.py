"""The Celery application. Tasks are found in each app's tasks.py."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qms_portal.settings.production")

app = Celery("qms_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
