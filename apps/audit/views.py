from django.contrib.auth.mixins import PermissionRequiredMixin
from django_filters.views import FilterView

from apps.audit.filters import AuditEntryFilter
from apps.audit.selectors import entries
from apps.core.pagination import KeysetPaginationMixin


class AuditEntryListView(PermissionRequiredMixin, KeysetPaginationMixin, FilterView):
    """The audit trail, searchable by date range, user, record type and action."""

    permission_required = "audit.view_auditentry"
    filterset_class = AuditEntryFilter
    template_name = "audit/entry_list.html"
    paginate_by = 50
    keyset_ordering = ("-seq",)

    def get_queryset(self):
        return entries()
