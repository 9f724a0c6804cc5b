from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    name = "apps.surveys"
    label = "surveys"
    verbose_name = _("Satisfaction surveys")

    def ready(self) -> None:
        from apps.accounts import capabilities

        capabilities.register(
            capabilities.Capability(permission="surveys.manage_campaign", label=_("Run survey campaigns"))
        )
        capabilities.register(
            capabilities.Capability(permission="surveys.export_responses", label=_("Export survey responses"))
        )
