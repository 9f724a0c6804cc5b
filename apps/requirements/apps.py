from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RequirementsConfig(AppConfig):
    name = "apps.requirements"
    label = "requirements"
    verbose_name = _("Customer requirements")

    def ready(self) -> None:
        from apps.accounts import capabilities
        from apps.core import navigation, panels
        from apps.requirements import selectors

        capabilities.register(
            capabilities.Capability(
                permission="requirements.review_customerrequirement",
                label=_("Reviews customer requirements (ISO 9001 8.2.3)"),
            )
        )

        panels.register(
            "customer",
            panels.Panel(
                key="requirements",
                template="requirements/_customer_panel.html",
                permission="requirements.view_customerrequirement",
                loader=lambda customer, user: list(selectors.for_customer(customer)[:50]),
                order=100,
            ),
        )

        navigation.register(
            navigation.Entry(
                label=_("Requirements"),
                url_name="requirements:requirement_list",
                permission="requirements.view_customerrequirement",
                order=120,
            )
        )
        navigation.register(
            navigation.Entry(
                label=_("Awaiting review"),
                url_name="requirements:review_queue",
                permission="requirements.review_customerrequirement",
                order=125,
            )
        )

        from apps.core import clauses

        for evidence in (
            clauses.Evidence(
                clause="8.2.2",
                model="requirements.customerrequirement",
                label=_("Customer requirements recorded"),
                date_field="created_at",
                url_name="requirements:requirement_list",
            ),
            clauses.Evidence(
                clause="8.2.3",
                model="requirements.requirementreview",
                label=_("Requirement reviews before commitment"),
                date_field="reviewed_at",
            ),
            clauses.Evidence(
                clause="8.2.4",
                model="requirements.requirementchangerequest",
                label=_("Requested changes to requirements"),
                date_field="requested_at",
            ),
            clauses.Evidence(
                clause="8.2.4",
                model="requirements.requirementversion",
                label=_("New versions of changed requirements"),
                date_field="created_at",
                restrict=lambda queryset: queryset.filter(number__gt=1),
            ),
        ):
            clauses.register(evidence)
