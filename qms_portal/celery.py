"""The Celery application. Tasks are found in each app's tasks.py.

No default for DJANGO_SETTINGS_MODULE here: this module is imported with the
package, and a default would leak into every process that imports it (the
launcher, say). Workers get the variable from `make run` or the container.
"""

from celery import Celery
from kombu.utils.objects import cached_property

from apps.core import logging as json_logging
from apps.core import request_id


class PortalCelery(Celery):
    """Workers and beats that write JSON lines only, no text banner (apps/core/logging.py)."""

    @cached_property
    def Worker(self):
        return self.subclass_with_self("apps.core.logging:JsonWorker")

    @cached_property
    def Beat(self):
        return self.subclass_with_self("apps.core.logging:JsonBeat")


app = PortalCelery("qms_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Logs through the project's LOGGING, and a web request's id carried into the tasks it enqueues.
json_logging.connect_celery()
request_id.connect_celery()
