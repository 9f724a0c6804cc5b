from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from apps.accounts import signals  # noqa: F401 - connects the receivers
        from apps.core import navigation

        navigation.register(
            navigation.Entry(
                label=_("People"), url_name="accounts:user_list", permission="accounts.view_user", order=800
            )
        )
