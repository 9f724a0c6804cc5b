from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "apps.customers"
    label = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from apps.core import navigation

        navigation.register(
            navigation.Entry(
                label=_("Customers"),
                url_name="customers:customer_list",
                permission="customers.view_customer",
                order=100,
            )
        )
        navigation.register(
            navigation.Entry(
                label=_("Products"), url_name="customers:product_list", permission="customers.view_product", order=110
            )
        )

        from apps.core import clauses

        clauses.register(
            clauses.Evidence(
                clause="8.2.1",
                model="customers.interaction",
                label=_("Customer interactions logged"),
                date_field="occurred_at",
            )
        )
