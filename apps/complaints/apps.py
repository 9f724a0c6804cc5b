from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComplaintsConfig(AppConfig):
    name = "apps.complaints"
    label = "complaints"
    verbose_name = _("Complaints")

    def ready(self) -> None:
        from apps.complaints import selectors
        from apps.core import navigation, panels

        navigation.register(
            navigation.Entry(
                label=_("Complaints"),
                url_name="complaints:complaint_list",
                permission="complaints.view_complaint",
                order=200,
            )
        )
        panels.register(
            "customer",
            panels.Panel(
                key="complaints",
                template="complaints/_customer_panel.html",
                permission="complaints.view_complaint",
                loader=selectors.for_customer,
                order=200,
            ),
        )
        panels.register(
            "dashboard",
            panels.Panel(
                key="complaint_recurrence",
                template="complaints/_recurrence_panel.html",
                permission="complaints.assign_complaint",
                loader=lambda _page, user: selectors.recent_recurrence_alerts(),
                order=200,
            ),
        )
        from apps.complaints.services import complaints_erase_for_contact
        from apps.core.personal_data import register_eraser

        register_eraser(complaints_erase_for_contact)
        from apps.actions.sources import register_effectiveness

        register_effectiveness("complaints.complaint", selectors.effectiveness)
