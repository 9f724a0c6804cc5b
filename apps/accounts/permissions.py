"""Who may do what: Django model permissions held by the role groups.

API views combine `ModelPermissions` (the role's permission for the model and
method) with the object rules of their app; an auditor holds only `view_*`
permissions, so every write is refused by construction.
"""

from rest_framework import permissions


class IsActiveUser(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_active)


class ModelPermissions(permissions.DjangoModelPermissions):
    """DjangoModelPermissions that also require `view_<model>` to read."""

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }
