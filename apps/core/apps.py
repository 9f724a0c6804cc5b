from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from apps.core import outbox_views

        outbox_views.register()  # the failed e-mails menu entry and dashboard count (#23)
