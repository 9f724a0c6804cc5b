from django.apps import AppConfig
from django.conf import settings


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from apps.core import outbox_views

        outbox_views.register()  # the failed e-mails menu entry and dashboard count (#23)
        from apps.core import crypto, keys

        # A malformed FIELD_ENCRYPTION_KEY stops every process here, at start-up, instead of the
        # first request that encrypts (a 500 on the public complaint form). An empty one is the
        # settings' to refuse: commands that run before any key exists must still load.
        if getattr(settings, "FIELD_ENCRYPTION_KEY", ""):
            crypto.master_keys()
        keys.register_checks()
