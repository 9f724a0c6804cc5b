from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ObjectivesConfig(AppConfig):
    name = "apps.objectives"
    label = "objectives"
    verbose_name = _("Quality objectives")

    def ready(self) -> None:
        from apps.core import clauses, navigation

        navigation.register(
            navigation.Entry(
                label=_("Objectives"),
                url_name="objectives:objective_list",
                permission="objectives.view_qualityobjective",
                order=250,
            )
        )
        clauses.register(
            clauses.Evidence(
                clause="6.2",
                model="objectives.qualityobjective",
                label=_("Quality objectives set"),
                date_field="created_at",
                url_name="objectives:objective_list",
            )
        )
        clauses.register(
            clauses.Evidence(
                clause="9.1.3",
                model="objectives.measurement",
                label=_("Objective measurements recorded"),
                date_field="recorded_at",
                url_name="objectives:objective_list",
            )
        )
