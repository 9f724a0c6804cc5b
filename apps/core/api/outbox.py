"""The failed e-mails for scripts and monitoring (#23): the same list as the page, and the same
resend and dismiss services. Quality managers only; the recipient is masked as on every surface."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.accounts.permissions import IsActiveUser
from apps.core import selectors, services
from apps.core.api.viewsets import ScopedViewSet, requires
from apps.core.personal_data import can_see_personal_data
from apps.core.selectors import FailedRow


class FailedEmailSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="email.pk")
    created_at = serializers.DateTimeField(source="email.created_at")
    last_attempt_at = serializers.DateTimeField(source="email.claimed_at", allow_null=True)
    kind = serializers.CharField(source="email.kind", help_text=_("The idempotency key's prefix, else the template."))
    template = serializers.CharField(source="email.template")
    message_id = serializers.CharField(source="email.message_id")
    record_type = serializers.CharField(help_text=_("app_label.model of the record concerned; empty when none."))
    record_id = serializers.IntegerField(source="email.concerns_id", allow_null=True)
    record_label = serializers.CharField()
    attempts = serializers.IntegerField(source="email.attempts")
    last_error = serializers.CharField(source="email.last_error")
    recipient = serializers.CharField(
        help_text=_("The address, or [personal data] without the permission; empty once the content is gone.")
    )
    resendable = serializers.BooleanField()


class SelectionSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=500)


class ResendResultSerializer(serializers.Serializer):
    resent = serializers.ListField(child=serializers.IntegerField())
    refused = serializers.ListField(
        child=serializers.IntegerField(), help_text=_("Failed, but their content is no longer kept.")
    )


class DismissResultSerializer(serializers.Serializer):
    dismissed = serializers.ListField(child=serializers.IntegerField())


class FailedEmailApiFilter(django_filters.FilterSet):
    kind = django_filters.CharFilter()


class FailedEmailViewSet(mixins.ListModelMixin, ScopedViewSet):
    """E-mails the outbox gave up on, newest first (core.view_outboundemail)."""

    serializer_class = FailedEmailSerializer
    filterset_class = FailedEmailApiFilter
    ordering_fields: list[str] = []
    ordering = ("-created_at", "-id")

    def base_queryset(self):
        return selectors.failed_emails()

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        rows: list[FailedRow] = selectors.failed_rows(page, show_personal=can_see_personal_data(request.user))
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)

    @extend_schema(request=SelectionSerializer, responses={200: ResendResultSerializer})
    @action(detail=False, methods=["post"], permission_classes=[IsActiveUser, requires("core.change_outboundemail")])
    def resend(self, request):
        """Queue failed e-mails again (same Message-ID); 409 when none of them can be resent."""
        ids = self.validated(SelectionSerializer)["ids"]
        result = services.email_resend(email_ids=ids, actor=request.user)
        return Response({"resent": [e.pk for e in result.resent], "refused": [e.pk for e in result.refused]})

    @extend_schema(request=SelectionSerializer, responses={200: DismissResultSerializer})
    @action(detail=False, methods=["post"], permission_classes=[IsActiveUser, requires("core.change_outboundemail")])
    def dismiss(self, request):
        """Give up on failed e-mails for good: cancelled, their content dropped."""
        ids = self.validated(SelectionSerializer)["ids"]
        return Response({"dismissed": [e.pk for e in services.email_dismiss(email_ids=ids, actor=request.user)]})
