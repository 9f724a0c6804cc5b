"""Every change to a user account: each writes its audit entry in the same transaction."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.contrib.auth.models import Group, Permission
from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from apps.accounts import capabilities
from apps.accounts.models import User
from apps.accounts.roles import GROUP_NAMES, Role
from apps.audit import services as audit
from apps.audit.models import AuditEntry
from apps.core import clauses
from apps.core.exceptions import BusinessRuleViolation
from apps.core.services import email_enqueue


def _set_role_groups(user: User, role: str) -> None:
    role_groups = Group.objects.filter(name__in=GROUP_NAMES.values())
    user.groups.remove(*role_groups)
    user.groups.add(Group.objects.get(name=GROUP_NAMES[role]))
    user.__dict__.pop("role", None)


def _refuse_losing_last_manager(user: User) -> None:
    if user.role != Role.QUALITY_MANAGER or not user.is_active:
        return
    others = User.objects.active().with_role(Role.QUALITY_MANAGER).exclude(pk=user.pk)
    if not others.exists():
        raise BusinessRuleViolation(_("The portal must keep at least one active quality manager."))


def expiry_moment(last_day: date | None) -> datetime | None:
    """Access granted "until" a day lasts through that day in the organisation's time zone."""
    if last_day is None:
        return None
    return timezone.make_aware(datetime.combine(last_day + timedelta(days=1), time.min))


def last_day_of_access(user: User) -> date | None:
    if user.access_expires_at is None:
        return None
    return timezone.localtime(user.access_expires_at).date() - timedelta(days=1)


def _check_access(role: str, last_day: date | None, clause_scope: list[str]) -> list[str]:
    if last_day is not None and last_day < timezone.localdate():
        raise BusinessRuleViolation(_("The last day of access cannot be in the past."))
    unknown = sorted(set(clause_scope) - set(clauses.CLAUSES))
    if unknown:
        raise BusinessRuleViolation(_("Unknown clauses: %(clauses)s.") % {"clauses": ", ".join(unknown)})
    if clause_scope and role != Role.AUDITOR:
        raise BusinessRuleViolation(_("Only auditors can be limited to some clauses."))
    return [clause for clause in clauses.CLAUSES if clause in clause_scope]


@transaction.atomic
def user_create(
    *,
    email: str,
    full_name: str,
    role: str,
    actor,
    password: str | None = None,
    base_url: str = "",
    access_until: date | None = None,
    clause_scope: list[str] | None = None,
) -> User:
    """Create a user in one role. Without a password, e-mails an invitation to set one
    (queued in the outbox, sent after commit). An external auditor's account can end on
    `access_until` and be limited to `clause_scope`."""
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email__iexact=email).exists():
        raise BusinessRuleViolation(_("A user with this e-mail address already exists."))
    scope = _check_access(role, access_until, clause_scope or [])
    user = User(email=email, full_name=full_name, access_expires_at=expiry_moment(access_until), clause_scope=scope)
    user.set_password(password)
    user.save()
    _set_role_groups(user, role)
    audit.record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        obj=user,
        changes={
            "email": [None, email],
            "full_name": [None, full_name],
            "role": [None, role],
            "is_active": [None, True],
            "access_expires_at": [None, user.access_expires_at],
            "clause_scope": [None, scope],
        },
    )
    if password is None:
        _queue_invitation(user, base_url=base_url)
    return user


def _queue_invitation(user: User, *, base_url: str) -> None:
    path = reverse(
        "accounts:password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    email_enqueue(
        to=user.email,
        subject=_("Your QMS Portal account"),
        template="emails/account_invitation.txt",
        context={"full_name": user.full_name, "link": f"{base_url}{path}"},
    )


@transaction.atomic
def user_set_role(*, user_id: int, role: str, actor, reason: str = "") -> User:
    """Give a user exactly one role. Refuses to leave the portal without a quality manager."""
    user = User.objects.select_for_update().get(pk=user_id)
    before = user.role
    if before == role:
        return user
    if role != Role.QUALITY_MANAGER:
        _refuse_losing_last_manager(user)
    _set_role_groups(user, role)
    audit.record(
        actor=actor, action=AuditEntry.Action.ROLE_CHANGE, obj=user, changes={"role": [before, role]}, reason=reason
    )
    return user


@transaction.atomic
def user_set_active(*, user_id: int, active: bool, actor, reason: str = "") -> User:
    """Activate or deactivate a user (users are never deleted: the audit trail names them)."""
    user = User.objects.select_for_update().get(pk=user_id)
    if user.is_active == active:
        return user
    if not active:
        _refuse_losing_last_manager(user)
    user.is_active = active
    user.save(update_fields=["is_active"])
    audit.record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        obj=user,
        changes={"is_active": [not active, active]},
        reason=reason,
    )
    return user


@transaction.atomic
def user_set_access(
    *, user_id: int, access_until: date | None, clause_scope: list[str], actor, reason: str = ""
) -> User:
    """Set the last day of a user's access and the clauses an auditor may see (empty: all).

    Takes effect at the user's next request: the session's backend checks both every time."""
    user = User.objects.select_for_update().get(pk=user_id)
    expires_at = expiry_moment(access_until)
    before_expiry = user.access_expires_at
    expiry_changed = expires_at != before_expiry
    if expiry_changed and expires_at is not None:
        _refuse_losing_last_manager(user)
    # An account that already ended keeps its past last day when only its clauses change.
    scope = _check_access(user.role, access_until if expiry_changed else None, clause_scope)
    changes = audit.diff(
        {"access_expires_at": before_expiry, "clause_scope": user.clause_scope},
        {"access_expires_at": expires_at, "clause_scope": scope},
    )
    if not changes:
        return user
    user.access_expires_at, user.clause_scope = expires_at, scope
    user.save(update_fields=["access_expires_at", "clause_scope"])
    audit.record(actor=actor, action=AuditEntry.Action.UPDATE, obj=user, changes=changes, reason=reason)
    return user


def _capability_permission(name: str) -> Permission:
    app_label, codename = name.split(".", 1)
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def user_capabilities(user: User) -> set[str]:
    """The registered capabilities the user holds individually (not through the role)."""
    held = {f"{p.content_type.app_label}.{p.codename}" for p in user.user_permissions.select_related("content_type")}
    return held & {c.permission for c in capabilities.all_capabilities()}


@transaction.atomic
def user_set_capabilities(*, user_id: int, permissions: set[str], actor, reason: str = "") -> User:
    """Give the user exactly these individual capabilities (apps.accounts.capabilities).

    Only registered capabilities, and only for a role the capability allows;
    the change is audited as a list of added and removed permissions.
    """
    user = User.objects.select_for_update().get(pk=user_id)
    for name in permissions:
        if user.role not in capabilities.get(name).roles:
            raise BusinessRuleViolation(
                _("%(capability)s cannot be given to this role.") % {"capability": capabilities.get(name).label}
            )
    before = user_capabilities(user)
    added, removed = sorted(permissions - before), sorted(before - permissions)
    if not added and not removed:
        return user
    user.user_permissions.add(*(_capability_permission(name) for name in added))
    user.user_permissions.remove(*(_capability_permission(name) for name in removed))
    audit.record(
        actor=actor,
        action=AuditEntry.Action.ROLE_CHANGE,
        obj=user,
        changes={"capabilities": [sorted(before), sorted(permissions)]},
        reason=reason,
    )
    return user


@transaction.atomic
def user_update_profile(*, user_id: int, full_name: str, actor) -> User:
    user = User.objects.select_for_update().get(pk=user_id)
    before = audit.snapshot(user, ["full_name"])
    user.full_name = full_name
    user.save(update_fields=["full_name"])
    changes = audit.diff(before, audit.snapshot(user, ["full_name"]))
    if changes:
        audit.record(actor=actor, action=AuditEntry.Action.UPDATE, obj=user, changes=changes)
    return user


@transaction.atomic
def user_record_sign_in(*, user: User, action: str = AuditEntry.Action.LOGIN) -> None:
    """Audit a sign-in, sign-out or password change of `user`, by that user."""
    audit.record(actor=user, action=action, obj=user)


@transaction.atomic
def user_record_failed_sign_in(*, email: str) -> None:
    """Audit a failed sign-in against an existing account (unknown addresses are not recorded)."""
    user = User.objects.filter(email__iexact=email).first()
    if user is not None:
        audit.record(actor=AuditEntry.ActorKind.PUBLIC, action=AuditEntry.Action.LOGIN_FAILED, obj=user)
