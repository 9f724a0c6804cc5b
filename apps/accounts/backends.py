"""Django's model backend, plus accounts that end on a set day or see only some clauses."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

# What a clause-limited account keeps beyond its clauses' record types: the page listing the
# clauses it may audit, and the personal-data permission when a quality manager gave it with a
# reason (it decides which fields are shown, the clauses decide which records).
ALWAYS_ALLOWED = frozenset({"audit.view_evidence", "accounts.view_personal_data"})


class PortalModelBackend(ModelBackend):
    """Signs an account out at its first request after `access_expires_at`, not only at the
    next sign-in: Django asks the session's backend for the user on every request
    (`get_user` → `user_can_authenticate`). An account limited to clauses keeps only the
    view permissions of the record types that evidence those clauses (apps.core.clauses),
    so every page and API endpoint that checks a permission honours the limit."""

    def user_can_authenticate(self, user) -> bool:
        return super().user_can_authenticate(user) and not getattr(user, "access_expired", False)

    def get_all_permissions(self, user_obj, obj=None) -> set[str]:
        if getattr(user_obj, "access_expired", False):
            return set()
        permissions = super().get_all_permissions(user_obj, obj)
        scope = getattr(user_obj, "clause_scope", None)
        if scope:
            from apps.core.clauses import view_permissions

            allowed = view_permissions(scope) | ALWAYS_ALLOWED
            return {permission for permission in permissions if permission in allowed}
        return permissions
