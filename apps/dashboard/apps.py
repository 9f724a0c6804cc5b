from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardConfig(AppConfig):
    name = "apps.dashboard"
    label = "dashboard"
    verbose_name = _("Dashboard")

    def ready(self) -> None:
        from apps.core import navigation

        navigation.register(navigation.Entry(label=_("Dashboard"), url_name="dashboard:home", order=0))
