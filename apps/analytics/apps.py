from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    """Roll-up tables and KPI computations (ISO 9001 9.1.3) that the dashboard, objectives
    and management reviews read. Reads the domain apps; nothing imports it but those readers."""

    name = "apps.analytics"
    label = "analytics"
    verbose_name = _("Analysis and evaluation")
