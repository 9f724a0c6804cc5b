from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import TemplateView


class HomeView(LoginRequiredMixin, TemplateView):
    """The signed-in home page: the user's role and the sections it reaches.

    The quality manager's KPI dashboard (ISO 9001 5.1.2) fills this page in the objectives issue.
    """

    template_name = "dashboard/home.html"

    def get_context_data(self, **kwargs):
        from apps.core import panels

        return {**super().get_context_data(**kwargs), "panels": panels.panels_for("dashboard", None, self.request.user)}
