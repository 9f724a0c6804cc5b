from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActionsConfig(AppConfig):
    name = "apps.actions"
    label = "actions"
    verbose_name = _("Corrective actions")

    def ready(self) -> None:
        from apps.accounts import capabilities
        from apps.core import navigation

        capabilities.register(
            capabilities.Capability(
                permission="actions.verify_correctiveaction",
                label=_("Verifies the effectiveness of corrective actions (ISO 9001 10.2)"),
            )
        )
        navigation.register(
            navigation.Entry(
                label=_("Corrective actions"),
                url_name="actions:action_list",
                permission="actions.view_correctiveaction",
                order=300,
            )
        )

        from apps.core import clauses

        clauses.register(
            clauses.Evidence(
                clause="10.2",
                model="actions.correctiveaction",
                label=_("Corrective actions raised"),
                date_field="created_at",
                url_name="actions:action_list",
            )
        )
        clauses.register(
            clauses.Evidence(
                clause="10.2",
                model="actions.correctiveaction",
                label=_("Corrective actions verified for effectiveness"),
                date_field="verified_at",
                url_name="actions:action_list",
                restrict=lambda queryset: queryset.filter(verified_at__isnull=False),
            )
        )
