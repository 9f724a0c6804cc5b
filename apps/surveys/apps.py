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

        from apps.core import panels
        from apps.surveys.selectors import results

        panels.register(
            "customer",
            panels.Panel(
                key="surveys",
                template="surveys/results/_customer_panel.html",
                permission="surveys.view_response",
                loader=lambda customer, user: results.latest_scores_for_customer(customer, user),
                order=200,
            ),
        )

        from apps.core import personal_data
        from apps.surveys.services import responses

        personal_data.register_eraser(responses.responses_erase_for_contact)
        personal_data.register_exporter(results.contact_export_section)

        from apps.core import navigation
        from apps.surveys.models import VIEW_PERMISSION

        navigation.register(
            navigation.Entry(
                label=_("Surveys"), url_name="surveys:campaign_list", permission=VIEW_PERMISSION, order=210
            )
        )

        from apps.core import clauses

        clauses.register(
            clauses.Evidence(
                clause="9.1.2",
                model="surveys.response",
                label=_("Satisfaction survey responses"),
                date_field="submitted_at",
                url_name="surveys:results",
            )
        )
