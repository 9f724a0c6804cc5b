from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from apps.accounts import capabilities, signals  # noqa: F401 - signals connects the receivers
        from apps.core import navigation
        from apps.core.personal_data import VIEW_PERMISSION

        # Quality managers and staff hold it through their role; an auditor only individually,
        # with a reason (services.user_set_capabilities).
        capabilities.register(
            capabilities.Capability(
                permission=VIEW_PERMISSION,
                label=_("Sees personal data (names, e-mails, phones, customers' words; in evidence packs too)"),
                roles=("auditor",),
            )
        )

        navigation.register(
            navigation.Entry(
                label=_("People"), url_name="accounts:user_list", permission="accounts.view_user", order=800
            )
        )
