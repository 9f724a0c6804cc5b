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
        from apps.complaints import linking

        panels.register(
            "complaint",
            panels.Panel(
                key="customer_link",
                template="customers/_link_panel.html",
                permission="complaints.change_complaint",
                loader=linking.link_panel_for,
                order=50,
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

        from apps.core import clauses

        for evidence in (
            clauses.Evidence(
                clause="ISO 10002",
                model="complaints.complaint",
                label=_("Complaints received"),
                date_field="received_at",
                url_name="complaints:complaint_list",
            ),
            clauses.Evidence(
                clause="ISO 10002",
                model="complaints.complaint",
                label=_("Complaints responded"),
                date_field="responded_at",
                url_name="complaints:complaint_list",
                restrict=lambda queryset: queryset.filter(responded_at__isnull=False),
            ),
            clauses.Evidence(
                clause="ISO 10002",
                model="complaints.complaint",
                label=_("Complaints closed"),
                date_field="closed_at",
                url_name="complaints:complaint_list",
                restrict=lambda queryset: queryset.filter(closed_at__isnull=False),
            ),
            clauses.Evidence(
                clause="ISO 10002",
                model="complaints.complaintescalation",
                label=_("SLA warnings and breaches escalated"),
                date_field="created_at",
            ),
            clauses.Evidence(
                clause="8.2.1",
                model="complaints.complaintmessage",
                label=_("Messages exchanged with complainants"),
                date_field="created_at",
            ),
            clauses.Evidence(
                clause="5.1.2",
                model="complaints.recurrencealert",
                label=_("Recurring-complaint alerts (risks to conformity)"),
                date_field="created_at",
            ),
            clauses.Evidence(
                clause="9.1.3",
                model="complaints.recurrencealert",
                label=_("Recurring-complaint alerts (risks to conformity)"),
                date_field="created_at",
            ),
        ):
            clauses.register(evidence)
