"""Portal users: staff, quality managers and auditors. Customers have no account."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from apps.accounts.login import login_identifier
from apps.accounts.roles import GROUP_NAMES, PRECEDENCE, ROLE_BY_GROUP, Role
from apps.audit.models import AuditedQuerySet


class UserQuerySet(AuditedQuerySet):
    def active(self) -> UserQuerySet:
        return self.filter(is_active=True)

    def with_role(self, role: str) -> UserQuerySet:
        return self.filter(groups__name=GROUP_NAMES[role])


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra) -> User:
        if not email:
            raise ValueError("Users need an e-mail address.")
        user = self.model(email=login_identifier(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)

    def get_by_natural_key(self, username: str) -> User:
        return self.get(email__iexact=login_identifier(username))


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with an e-mail address.

    The role is the user's group (see apps.accounts.roles); change it only
    through `apps.accounts.services.user_set_role`, which keeps one role per
    user and writes the audit entry. Users are deactivated, never deleted:
    audit entries point at them.
    """

    AUDIT_PERSONAL_FIELDS = ("email", "full_name")

    email = models.EmailField(_("e-mail address"), max_length=254, unique=True)
    full_name = models.CharField(_("full name"), max_length=150)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(
        _("admin site access"), default=False, help_text=_("May sign in to the Django admin site.")
    )
    date_joined = models.DateTimeField(_("joined"), default=timezone.now)
    # External auditors get accounts that end on a set day and may see only some clauses;
    # apps.accounts.backends enforces both on every request, not only at sign-in.
    access_expires_at = models.DateTimeField(_("access expires"), null=True, blank=True)
    clause_scope = ArrayField(
        models.CharField(max_length=20), verbose_name=_("limited to clauses"), default=list, blank=True
    )
    # Bumped to end every browser session of the account (on deactivation): Django drops a
    # session whose stored hash no longer matches get_session_auth_hash(), and the database
    # sessions cannot be found by user without decoding every one of them.
    session_generation = models.PositiveIntegerField(default=0, editable=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["full_name", "id"]
        constraints = [models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique")]
        # apps.core.personal_data.VIEW_PERMISSION: one right for reading customers' and the
        # public's personal data everywhere. Kept here, beside the roles, as no domain app owns it.
        permissions = [("view_personal_data", "Can see personal data of customers and the public")]

    def __str__(self) -> str:
        return self.display_name

    @property
    def access_expired(self) -> bool:
        return self.access_expires_at is not None and timezone.now() >= self.access_expires_at

    def audit_label(self) -> str:
        return f"User #{self.pk}"

    def _get_session_auth_hash(self, secret=None) -> str:
        # Django's own hash (an HMAC of the password hash) while the generation is 0, so that
        # adding the generation signed nobody out; both public methods (and the fallback
        # secrets) go through this one.
        if not self.session_generation:
            return super()._get_session_auth_hash(secret=secret)
        key_salt = "apps.accounts.models.User.get_session_auth_hash"
        value = f"{self.password}\x00{self.session_generation}"
        return salted_hmac(key_salt, value, secret=secret, algorithm="sha256").hexdigest()

    def clean(self) -> None:
        super().clean()
        self.email = login_identifier(self.email)

    @property
    def display_name(self) -> str:
        return self.full_name or self.email

    @cached_property
    def role(self) -> str | None:
        """The user's role, or None for a user in no role group."""
        held = {ROLE_BY_GROUP[g.name] for g in self.groups.all() if g.name in ROLE_BY_GROUP}
        return next((role for role in PRECEDENCE if role in held), None)

    @property
    def role_label(self) -> str:
        return Role(self.role).label if self.role else str(_("No role"))

    def has_role(self, *roles: str) -> bool:
        return self.is_active and self.role in roles


def api_token_digest(secret: str) -> str:
    """What the database keeps of an API token: its SHA-256. The secret has 256 random bits,
    so a plain hash cannot be reversed or guessed and needs no salt or slow hashing."""
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiTokenQuerySet(AuditedQuerySet):
    def active(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())

    def visible_to(self, user) -> ApiTokenQuerySet:
        """Everyone sees their own tokens; holders of `view_apitoken` (quality managers,
        auditors) see everyone's."""
        if user.has_perm("accounts.view_apitoken"):
            return self
        return self.filter(user_id=user.pk)


class ApiToken(models.Model):
    """A bearer token for the API. Issue and revoke only through apps.accounts.services.

    The secret is shown once, when issued; the row keeps only its SHA-256 (`digest`) and a
    short non-secret `prefix` that names the token in lists. A token works until
    `expires_at` or until revoked (by hand, or when its user's password, role or
    activation changes), and only while its user may sign in.
    """

    # A user-chosen label could name a person; the audit chain must never hold it in clear.
    AUDIT_PERSONAL_FIELDS = ("name",)
    # last_used_at is written at most this often per token, not on every request.
    LAST_USED_RESOLUTION_SECONDS = 60

    class RevokeReason(models.TextChoices):
        REVOKED = "revoked", _("Revoked")
        PASSWORD_CHANGED = "password_changed", _("Password changed")
        PASSWORD_RESET = "password_reset", _("Password reset")
        DEACTIVATED = "deactivated", _("Account deactivated")
        ROLE_CHANGED = "role_changed", _("Role changed")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user")
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(_("prefix"), max_length=16)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    expires_at = models.DateTimeField(_("expires"))
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        # Users are deactivated, never deleted, while records point at them.
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("revoked by"),
    )
    revoke_reason = models.CharField(_("why revoked"), max_length=20, choices=RevokeReason.choices, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-id"]
        permissions = [("revoke_apitoken", "Can revoke anyone's API tokens")]
        indexes = [models.Index(fields=["user", "-created_at", "-id"], name="accounts_apitoken_user_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(revoked_at__isnull=True) | ~models.Q(revoke_reason=""),
                name="accounts_apitoken_revoked_has_reason",
            ),
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")), name="accounts_apitoken_expires_after"
            ),
        ]

    def __str__(self) -> str:
        return self.display

    @property
    def display(self) -> str:
        return f"{self.prefix}…"

    def audit_label(self) -> str:
        return f"API token {self.prefix} of User #{self.user_id}"

    @property
    def is_expired(self) -> bool:
        return timezone.now() >= self.expires_at

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.is_expired else "active"
