"""The one base every API viewset inherits (STYLE rule 11), and small permission helpers.

Scoping cannot be skipped by accident: a viewset names its rows in `base_queryset()`, and
`get_queryset()` always narrows them with the model's `visible_to(user)` when the model
has one, so a record outside the user's scope is 404 and never leaks its existence.
Permissions default to an active user holding the role's model permission for the method
(auditors hold only `view_*`, so every write is 403 for them by construction); workflow
steps add theirs with `@action(permission_classes=...)`. PUT and DELETE have no route: 405.
"""

from __future__ import annotations

from rest_framework import status, viewsets
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from apps.accounts.permissions import IsActiveUser, ModelPermissions


def requires(permission: str) -> type[BasePermission]:
    """A permission class for one named Django permission (workflow steps beyond view/add/change)."""

    class HasPermission(BasePermission):
        def has_permission(self, request, view) -> bool:
            return request.user.has_perm(permission)

    HasPermission.__name__ = f"Has_{permission.replace('.', '_')}"
    return HasPermission


def object_rule(permission: str) -> type[BasePermission]:
    """`permission`, and for one object its `can_be_changed_by(user)` rule (staff change their own)."""

    class ObjectRule(BasePermission):
        def has_permission(self, request, view) -> bool:
            return request.user.has_perm(permission)

        def has_object_permission(self, request, view, obj) -> bool:
            return obj.can_be_changed_by(request.user)

    ObjectRule.__name__ = f"ObjectRule_{permission.replace('.', '_')}"
    return ObjectRule


class ScopedViewSet(viewsets.GenericViewSet):
    """Base of every API viewset: scoped queryset, declared permissions, no PUT or DELETE."""

    permission_classes = [IsActiveUser, ModelPermissions]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def check_permissions(self, request):
        # A method without a route is 405 before any permission check, not 403 for lacking a
        # delete permission no role holds.
        if request.method.lower() not in self.http_method_names or not hasattr(self, request.method.lower()):
            self.http_method_not_allowed(request)
        super().check_permissions(request)

    def base_queryset(self):
        """The rows this endpoint serves before the user's scope is applied."""
        raise NotImplementedError

    def get_queryset(self):
        queryset = self.base_queryset()
        if hasattr(queryset, "visible_to"):
            queryset = queryset.visible_to(self.request.user)
        return queryset

    def validated(self, serializer_class, *, partial: bool = False, **context) -> dict:
        serializer = serializer_class(
            data=self.request.data, partial=partial, context={**self.get_serializer_context(), **context}
        )
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def output(self, obj, status_code: int = status.HTTP_200_OK) -> Response:
        """The object as this viewset's serializer shows it, re-read within the user's scope when possible."""
        fresh = self.get_queryset().filter(pk=obj.pk).first() or obj
        return Response(self.get_serializer(fresh).data, status=status_code)
