"""The failed e-mails page (#23): what the outbox gave up on, why, and resending or dismissing it.

Quality managers only (core.view_outboundemail to read, core.change_outboundemail to act). The
recipient is personal data: shown in clear only with accounts.view_personal_data, and not even
decrypted otherwise.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.db import models
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views import View
from django_filters.views import FilterView

from apps.core import selectors, services
from apps.core.exceptions import BusinessRuleViolation
from apps.core.models import OutboundEmail
from apps.core.pagination import KeysetPaginationMixin
from apps.core.personal_data import can_see_personal_data


class FailedEmailFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(label=_("Kind"), empty_label=_("All kinds"))

    class Meta:
        model = OutboundEmail
        fields: list[str] = []

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Only the kinds that failed: one bounded query (kinds are few), not a list to maintain.
        kinds = self.queryset.order_by("kind").values_list("kind", flat=True).distinct()
        self.filters["kind"].extra["choices"] = [(kind, kind) for kind in kinds]


class FailedEmailListView(PermissionRequiredMixin, KeysetPaginationMixin, FilterView):
    """E-mails given up on, newest first, filterable by kind, 50 a page."""

    permission_required = "core.view_outboundemail"
    filterset_class = FailedEmailFilter
    template_name = "core/outbox_failed_list.html"
    paginate_by = 50
    keyset_ordering = ("-created_at",)

    def get_queryset(self) -> models.QuerySet[OutboundEmail]:
        return selectors.failed_emails()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        show_personal = can_see_personal_data(self.request.user)
        context["rows"] = selectors.failed_rows(list(context["object_list"]), show_personal=show_personal)
        context["can_act"] = self.request.user.has_perm("core.change_outboundemail")
        context["keep_days"] = settings.OUTBOX_FAILED_KEEP_DAYS
        return context


class _FailedEmailAction(PermissionRequiredMixin, View):
    """POST only: the ids of the ticked rows (`email`), or one row's own button (`only`)."""

    permission_required = "core.change_outboundemail"
    http_method_names = ["post"]

    def selected(self) -> list[int]:
        only = self.request.POST.get("only")
        values = [only] if only else self.request.POST.getlist("email")
        return [int(value) for value in values if value.isdigit()]

    def act(self, ids: list[int]) -> None:
        raise NotImplementedError

    def post(self, request, *args, **kwargs):
        ids = self.selected()
        if not ids:
            messages.warning(request, _("Select at least one e-mail."))
        else:
            try:
                self.act(ids)
            except BusinessRuleViolation as error:
                messages.error(request, str(error))
        return redirect("core:outbox_failed")


class ResendFailedEmailsView(_FailedEmailAction):
    def act(self, ids: list[int]) -> None:
        result = services.email_resend(email_ids=ids, actor=self.request.user)
        count = len(result.resent)
        messages.success(
            self.request,
            ngettext("%(count)d e-mail queued again.", "%(count)d e-mails queued again.", count) % {"count": count},
        )
        if result.refused:
            count = len(result.refused)
            messages.warning(
                self.request,
                ngettext(
                    "%(count)d e-mail cannot be resent: its content is no longer kept.",
                    "%(count)d e-mails cannot be resent: their content is no longer kept.",
                    count,
                )
                % {"count": count},
            )


class DismissFailedEmailsView(_FailedEmailAction):
    def act(self, ids: list[int]) -> None:
        count = len(services.email_dismiss(email_ids=ids, actor=self.request.user))
        messages.success(
            self.request,
            ngettext("%(count)d e-mail dismissed.", "%(count)d e-mails dismissed.", count) % {"count": count},
        )


def register() -> None:
    """The menu entry and the dashboard count (CoreConfig.ready). E-mails the outbox gave up on
    were invisible (#23); only quality managers hold the permission, so only they see either."""
    from apps.core import navigation, panels

    navigation.register(
        navigation.Entry(
            label=_("Failed e-mails"), url_name="core:outbox_failed", permission="core.view_outboundemail", order=850
        )
    )
    panels.register(
        "dashboard",
        panels.Panel(
            key="failed_emails",
            template="core/outbox_dashboard_panel.html",
            permission="core.view_outboundemail",
            loader=lambda _record, _user: OutboundEmail.objects.failed().count(),
            order=10,
        ),
    )
