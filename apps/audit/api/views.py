from rest_framework import mixins, viewsets

from apps.accounts.permissions import IsActiveUser, ModelPermissions
from apps.audit.api.serializers import AuditEntrySerializer
from apps.audit.filters import AuditEntryFilter
from apps.audit.selectors import entries


class AuditEntryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The audit trail, read-only, newest first."""

    permission_classes = [IsActiveUser, ModelPermissions]
    serializer_class = AuditEntrySerializer
    filterset_class = AuditEntryFilter
    lookup_field = "seq"
    ordering_fields = ["seq"]
    ordering = ("-seq",)

    def get_queryset(self):
        return entries()
