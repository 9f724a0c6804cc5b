"""Customers REST API: thin viewsets over selectors and services. No PUT and no DELETE."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.accounts.permissions import IsActiveUser
from apps.core.api.viewsets import ScopedViewSet, requires
from apps.customers import selectors, services
from apps.customers.api import serializers as s
from apps.customers.models import Customer


class CustomerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Customers (organisations and individuals)."""

    serializer_class = s.CustomerSerializer
    filterset_fields = ["status", "kind", "segment", "country", "account_owner"]
    ordering_fields = ["id", "name", "created_at"]
    ordering = ("name", "id")

    def base_queryset(self):
        return Customer.objects.prefetch_related("products").order_by("name", "id")

    @extend_schema(request=s.CustomerInputSerializer, responses={201: s.CustomerSerializer})
    def create(self, request, *args, **kwargs):
        data = self.validated(s.CustomerInputSerializer)
        customer = services.customer_create(actor=request.user, **data)
        return self.output(customer, status.HTTP_201_CREATED)

    @extend_schema(request=s.CustomerUpdateSerializer, responses=s.CustomerSerializer)
    def partial_update(self, request, *args, **kwargs):
        customer = self.get_object()
        data = self.validated(s.CustomerUpdateSerializer, partial=True)
        customer = services.customer_update(customer_id=customer.pk, actor=request.user, **data)
        return self.output(customer)


class ContactViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Contacts at customers. Name, e-mail and phone are personal data: null after erasure."""

    serializer_class = s.ContactSerializer
    filterset_fields = ["customer", "is_active", "survey_consent"]
    ordering_fields = ["id", "created_at"]
    ordering = ("customer_id", "id")

    def base_queryset(self):
        return selectors.contacts().order_by("id")

    @extend_schema(request=s.ContactCreateSerializer, responses={201: s.ContactSerializer})
    def create(self, request, *args, **kwargs):
        data = self.validated(s.ContactCreateSerializer)
        customer = data.pop("customer")
        contact = services.contact_create(customer_id=customer.pk, actor=request.user, **data)
        return self.output(contact, status.HTTP_201_CREATED)

    @extend_schema(request=s.ContactUpdateSerializer, responses=s.ContactSerializer)
    def partial_update(self, request, *args, **kwargs):
        contact = self.get_object()
        data = self.validated(s.ContactUpdateSerializer, partial=True, contact=contact)
        contact = services.contact_update(contact_id=contact.pk, actor=request.user, **data)
        return self.output(contact)

    @extend_schema(request=s.ContactEraseSerializer, responses=s.ContactSerializer)
    @action(detail=True, methods=["post"], permission_classes=[IsActiveUser, requires("customers.erase_contact")])
    def erase(self, request, pk=None):
        """Erase the contact's personal data (pseudonymise; quality records stay). Idempotent."""
        contact = self.get_object()
        data = self.validated(s.ContactEraseSerializer)
        contact = services.contact_erase(contact_id=contact.pk, actor=request.user, reason=data["reason"])
        return self.output(contact)

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"], permission_classes=[IsActiveUser, requires("customers.export_contact")])
    def export(self, request, pk=None):
        """Everything held about the contact (subject-access request). Recorded in the audit trail."""
        contact = self.get_object()
        data = services.contact_export_recorded(contact_id=contact.pk, actor=request.user)
        response = Response(data)
        response["Cache-Control"] = "no-store"
        return response


class ProductViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """The catalogue of products and services."""

    serializer_class = s.ProductSerializer
    filterset_fields = ["kind", "is_active"]
    ordering_fields = ["id", "code", "name"]
    ordering = ("name", "id")

    def base_queryset(self):
        return selectors.products().order_by("name", "id")

    @extend_schema(request=s.ProductInputSerializer, responses={201: s.ProductSerializer})
    def create(self, request, *args, **kwargs):
        data = self.validated(s.ProductInputSerializer)
        product = services.product_create(actor=request.user, **data)
        return self.output(product, status.HTTP_201_CREATED)

    @extend_schema(request=s.ProductInputSerializer, responses=s.ProductSerializer)
    def partial_update(self, request, *args, **kwargs):
        product = self.get_object()
        data = self.validated(s.ProductInputSerializer, partial=True)
        product = services.product_update(product_id=product.pk, actor=request.user, **data)
        return self.output(product)


class InteractionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """The customer communication log (ISO 9001 8.2.1) with follow-up actions."""

    serializer_class = s.InteractionSerializer
    filterset_fields = ["customer", "channel"]
    ordering_fields = ["id", "occurred_at"]
    ordering = ("-occurred_at", "-id")

    def base_queryset(self):
        return selectors.interactions().order_by("-occurred_at", "-id")

    @extend_schema(request=s.InteractionInputSerializer, responses={201: s.InteractionSerializer})
    def create(self, request, *args, **kwargs):
        data = self.validated(s.InteractionInputSerializer)
        interaction = services.interaction_log(
            customer_id=data["customer"].pk,
            actor=request.user,
            occurred_at=data["occurred_at"],
            channel=data["channel"],
            summary=data["summary"],
            contact_ids=[contact.pk for contact in data["contacts"]],
            staff_ids=[user.pk for user in data["staff"]],
            follow_ups=[dict(follow_up) for follow_up in data["follow_ups"]],
        )
        return self.output(selectors.interactions().get(pk=interaction.pk), status.HTTP_201_CREATED)
