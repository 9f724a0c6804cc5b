"""Every change to a user account: each writes its audit entry in the same transaction."""

from __future__ import annotations

import secrets
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from apps.accounts import capabilities
from apps.accounts.login import login_identifier
from apps.accounts.models import ApiToken, User, api_token_digest
from apps.accounts.roles import GROUP_NAMES, Role
from apps.audit import services as audit
from apps.audit.models import AuditEntry
from apps.core import clauses, personal_data
from apps.core.exceptions import BusinessRuleViolation
from apps.core.links import absolute_url
from apps.core.queue import enqueue_on_commit
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
    access_until: date | None = None,
    clause_scope: list[str] | None = None,
) -> User:
    """Create a user in one role. Without a password, e-mails an invitation to set one
    (queued in the outbox, sent after commit). An external auditor's account can end on
    `access_until` and be limited to `clause_scope`."""
    email = login_identifier(email)
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
        _queue_invitation(user)
    return user


def user_request_password_reset(*, email: str, deliver: bool = True) -> None:
    """Have a reset link e-mailed to the active account with this address, if there is one.

    The request's work is the same whether or not the account exists, and whether or not the
    address was over its limit (`deliver=False`): one indexed query, one task queued after
    commit, with the account's id or None. The token, the rendering and the outbox row are the
    task's (`user_send_password_reset`), after the response, so neither the page nor its timing
    tells whether an address has an account.
    """
    from apps.accounts.tasks import send_password_reset_task

    user_id = User.objects.filter(email=login_identifier(email), is_active=True).values_list("pk", flat=True).first()
    # The key makes a redelivered task message queue one e-mail; it names no one.
    enqueue_on_commit(send_password_reset_task, user_id if deliver else None, secrets.token_hex(16))


@transaction.atomic
def user_send_password_reset(*, user_id: int, request_key: str) -> None:
    """Queue the reset e-mail of one request (the outbox sends it), once per `request_key`.
    Nothing for an account that was deactivated since, or has no password to reset (as
    Django's reset form: an invited user's link is the invitation)."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.has_usable_password():
        return
    email_enqueue(
        to=user.email,
        subject=_("Reset your QMS Portal password"),
        template="emails/password_reset.txt",
        context={"link": _set_password_link(user)},
        idempotency_key=f"password-reset:{request_key}",
    )


def _set_password_link(user: User) -> str:
    """The link to choose a new password: valid until it is used, the password changes or
    PASSWORD_RESET_TIMEOUT passes (Django's token)."""
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return absolute_url(reverse("accounts:password_reset_confirm", kwargs={"uidb64": uidb64, "token": token}))


def _queue_invitation(user: User) -> None:
    email_enqueue(
        to=user.email,
        subject=_("Your QMS Portal account"),
        template="emails/account_invitation.txt",
        context={"full_name": user.full_name, "link": _set_password_link(user)},
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
    # A script's token was issued for what the old role could do; it must not carry over.
    api_token_revoke_all(user_id=user.pk, revoke_reason=ApiToken.RevokeReason.ROLE_CHANGED, actor=actor)
    return user


@transaction.atomic
def user_set_active(*, user_id: int, active: bool, actor, reason: str = "") -> User:
    """Activate or deactivate a user (users are never deleted: the audit trail names them).

    Deactivation revokes the user's API tokens and ends their browser sessions for good, so
    reactivating the account later revives neither (Django merely ignores an inactive
    user's session, which would otherwise work again)."""
    user = User.objects.select_for_update().get(pk=user_id)
    if user.is_active == active:
        return user
    if not active:
        _refuse_losing_last_manager(user)
        user.session_generation += 1
        api_token_revoke_all(user_id=user.pk, revoke_reason=ApiToken.RevokeReason.DEACTIVATED, actor=actor)
    user.is_active = active
    user.save(update_fields=["is_active", "session_generation"])
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
    the change is audited as a list of added and removed permissions. Giving the
    personal-data permission needs a reason, which the audit entry keeps.
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
    if personal_data.VIEW_PERMISSION in added and not reason.strip():
        raise BusinessRuleViolation(_("Give the reason why this person may see personal data."))
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
def user_password_changed(*, user: User, reset: bool = False) -> None:
    """After `user`'s password was changed (by themselves, or through a reset link): audit
    it and revoke their API tokens. Their other browser sessions end by themselves, since
    the session hash covers the password. Callers save the password in the same transaction."""
    audit.record(actor=user, action=AuditEntry.Action.PASSWORD_CHANGE, obj=user)
    reason = ApiToken.RevokeReason.PASSWORD_RESET if reset else ApiToken.RevokeReason.PASSWORD_CHANGED
    api_token_revoke_all(user_id=user.pk, revoke_reason=reason, actor=user)


@transaction.atomic
def user_password_set_by_admin(*, user_id: int, actor) -> None:
    """A superuser set (or disabled) a password in the admin site: audited, tokens revoked."""
    user = User.objects.get(pk=user_id)
    audit.record(actor=actor, action=AuditEntry.Action.PASSWORD_CHANGE, obj=user)
    api_token_revoke_all(user_id=user.pk, revoke_reason=ApiToken.RevokeReason.PASSWORD_CHANGED, actor=actor)


@transaction.atomic
def user_record_failed_sign_in(*, email: str) -> None:
    """Audit a failed sign-in against an existing account (unknown addresses are not recorded)."""
    user = User.objects.filter(email__iexact=login_identifier(email)).first()
    if user is not None:
        audit.record(actor=AuditEntry.ActorKind.PUBLIC, action=AuditEntry.Action.LOGIN_FAILED, obj=user)


# API tokens -------------------------------------------------------------------


class IssuedToken(NamedTuple):
    token: ApiToken
    # The only moment the secret exists outside the client: the row keeps its digest.
    secret: str


@transaction.atomic
def api_token_issue(*, user: User, actor, name: str = "") -> IssuedToken:
    """A new API token for `user`, valid API_TOKEN_LIFETIME_DAYS. Every call makes a new one
    (an old token's secret is not kept, so it could not be handed out again). Audited."""
    # "qms_" lets secret scanners (and people) recognise a leaked token as ours.
    prefix = f"qms_{secrets.token_hex(4)}"
    # 32 random bytes: the digest is a plain SHA-256, safe only for a secret this long.
    secret = f"{prefix}_{secrets.token_urlsafe(32)}"
    now = timezone.now()
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=prefix,
        digest=api_token_digest(secret),
        created_at=now,
        expires_at=now + timedelta(days=settings.API_TOKEN_LIFETIME_DAYS),
    )
    audit.record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        obj=token,
        changes={
            "user": [None, user.pk],
            "name": [None, name],
            "prefix": [None, prefix],
            "expires_at": [None, token.expires_at],
        },
    )
    return IssuedToken(token, secret)


def _revoke(token: ApiToken, *, revoke_reason: str, actor) -> None:
    token.revoked_at = timezone.now()
    token.revoked_by = actor if getattr(actor, "is_authenticated", False) else None
    token.revoke_reason = revoke_reason
    token.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    audit.record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        obj=token,
        changes={"revoked_at": [None, token.revoked_at], "revoke_reason": ["", revoke_reason]},
        reason=str(ApiToken.RevokeReason(revoke_reason).label),
    )


@transaction.atomic
def api_token_revoke(*, token_id: int, actor, revoke_reason: str = ApiToken.RevokeReason.REVOKED) -> ApiToken:
    """Revoke one token (its owner, or a quality manager: callers check who may). Revoking a
    revoked token changes nothing and writes no second entry. Locks the row; audited."""
    token = ApiToken.objects.select_for_update().get(pk=token_id)
    if token.revoked_at is None:
        _revoke(token, revoke_reason=revoke_reason, actor=actor)
    return token


@transaction.atomic
def api_token_revoke_all(*, user_id: int, revoke_reason: str, actor) -> int:
    """Revoke every unrevoked token of a user (expired ones too, so none is left to look
    alive if its lifetime were ever extended); one audit entry per token. Locks them in
    primary-key order. Returns how many were revoked."""
    tokens = list(ApiToken.objects.select_for_update().filter(user_id=user_id, revoked_at__isnull=True).order_by("pk"))
    for token in tokens:
        _revoke(token, revoke_reason=revoke_reason, actor=actor)
    return len(tokens)


def api_token_touch(token: ApiToken) -> None:
    """Note that the token was just used, at most once a minute per token: a write on every
    request would serialise a busy script's calls on one row. Not audited (usage, not a change)."""
    now = timezone.now()
    resolution = timedelta(seconds=ApiToken.LAST_USED_RESOLUTION_SECONDS)
    if token.last_used_at is not None and now - token.last_used_at < resolution:
        return
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - resolution)
    ApiToken.objects.filter(stale, pk=token.pk).unaudited_update(last_used_at=now)
    token.last_used_at = now
