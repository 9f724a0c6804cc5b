from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import TemplateView

from apps.accounts.roles import Role
from apps.dashboard import selectors
from apps.dashboard.forms import DashboardFilterForm


def sees_dashboard(user) -> bool:
    """Quality managers steer with the figures; auditors read the same figures (nothing on it writes)."""
    return bool(user.is_superuser or user.has_role(Role.QUALITY_MANAGER, Role.AUDITOR))


class StartView(TemplateView):
    """The public start page at `/` for anonymous visitors (#24): give feedback, make a
    complaint, follow one, sign in. Reads nothing from the session or Redis, so it writes no
    session cookie and keeps answering while Redis is down, like the public forms."""

    template_name = "dashboard/start.html"


class HomeView(LoginRequiredMixin, TemplateView):
    """The signed-in home page (ISO 9001 5.1.2).

    Quality managers and auditors get the customer-focus dashboard, filtered by
    period, product and segment; staff get their own queue; everyone keeps the
    role line, the registered panels and the sections they can reach.
    """

    template_name = "dashboard/home.html"

    def dispatch(self, request, *args, **kwargs):
        # Anonymous visitors get the public start page, not the sign-in redirect (#24).
        if not request.user.is_authenticated:
            return StartView.as_view()(request, *args, **kwargs)
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        from apps.core import panels

        user = self.request.user
        context = {
            **super().get_context_data(**kwargs),
            "panels": panels.panels_for("dashboard", None, user),
        }
        if sees_dashboard(user):
            form = DashboardFilterForm(self.request.GET or None)
            months, product, segment = form.values()
            selection = selectors.Selection(
                period=selectors.Period.ending_this_month(months),
                product_id=product.pk if product else None,
                segment=segment,
            )
            context.update(
                mode="dashboard",
                filter={"form": form},
                dashboard=selectors.quality_dashboard(user=user, selection=selection),
            )
        elif user.has_role(Role.STAFF):
            context.update(mode="queue", queue=selectors.staff_queue(user=user))
        return context
