from rest_framework.permissions import BasePermission


class DenyAll(BasePermission):
    """The API's default: a view that declares no permission serves no one."""

    def has_permission(self, request, view) -> bool:
        return False
