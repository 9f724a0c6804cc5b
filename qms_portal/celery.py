"""The Celery application. Tasks are found in each app's tasks.py.

No default for DJANGO_SETTINGS_MODULE here: this module is imported with the
package, and a default would leak into every process that imports it (the
launcher, say). Workers get the variable from `make run` or the container.
"""

from celery import Celery

app = Celery("qms_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
