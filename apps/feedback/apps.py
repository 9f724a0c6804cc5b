from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedbackConfig(AppConfig):
    name = "apps.feedback"
    label = "feedback"
    verbose_name = _("Feedback")

    def ready(self) -> None:
        from apps.core import navigation, panels
        from apps.core.personal_data import register_eraser
        from apps.feedback.services import feedback_erase_for_contact

        register_eraser(feedback_erase_for_contact)
        from apps.feedback import selectors

        panels.register(
            "customer",
            panels.Panel(
                key="feedback",
                template="feedback/_customer_panel.html",
                permission="feedback.view_feedback",
                loader=lambda customer, user: list(selectors.for_customer(customer)[:10]),
                order=190,
            ),
        )
        panels.register(
            "complaint",
            panels.Panel(
                key="source_feedback",
                template="feedback/_complaint_panel.html",
                permission="feedback.view_feedback",
                loader=lambda complaint, user: list(
                    selectors.for_complaint(complaint).visible_to(user).only("pk", "reference", "created_at")
                ),
                order=100,
            ),
        )
        from apps.feedback import linking

        panels.register(
            "feedback",
            panels.Panel(
                key="customer_link",
                template="customers/_link_panel.html",
                permission="feedback.change_feedback",
                loader=linking.link_panel_for,
                order=50,
            ),
        )
        navigation.register(
            navigation.Entry(
                label=_("Feedback"), url_name="feedback:feedback_list", permission="feedback.view_feedback", order=190
            )
        )
        navigation.register(
            navigation.Entry(
                label=_("Triage"), url_name="feedback:triage", permission="feedback.triage_feedback", order=195
            )
        )

        from apps.core import clauses

        for clause, label in (
            ("9.1.2", _("Customer feedback received")),
            ("8.2.1", _("Customer feedback received")),
        ):
            clauses.register(
                clauses.Evidence(
                    clause=clause,
                    model="feedback.feedback",
                    label=label,
                    date_field="created_at",
                    url_name="feedback:feedback_list",
                )
            )
