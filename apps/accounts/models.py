"""Portal users: staff, quality managers and auditors. Customers have no account."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

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
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)

    def get_by_natural_key(self, username: str) -> User:
        return self.get(email__iexact=username)


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

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["full_name", "id"]
        constraints = [models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique")]

    def __str__(self) -> str:
        return self.display_name

    @property
    def access_expired(self) -> bool:
        return self.access_expires_at is not None and timezone.now() >= self.access_expires_at

    def audit_label(self) -> str:
        return f"User #{self.pk}"

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

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
