"""Customers, their contacts (personal data), the product catalogue and the
interaction log (ISO 9001 8.2.1). Change rows only through services.py."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from apps.audit.models import AuditedQuerySet
from apps.core.crypto import PersonalDataModel, encrypted_field
from apps.core.models import TimeStampedModel


class Product(TimeStampedModel):
    """A product or service of the catalogue that requirements, feedback and complaints refer to."""

    class Kind(models.TextChoices):
        PRODUCT = "product", _("Product")
        SERVICE = "service", _("Service")

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.PRODUCT)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    objects = AuditedQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("product or service")
        verbose_name_plural = _("products and services")
        # The keyset ordering of the list pages and API (apps.core.pagination).
        indexes = [models.Index(fields=["name", "id"], name="product_name_id_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def audit_label(self) -> str:
        return f"Product {self.code}"


class CustomerQuerySet(AuditedQuerySet):
    def active(self) -> CustomerQuerySet:
        return self.filter(status=Customer.Status.ACTIVE)


class Customer(TimeStampedModel):
    """An organisation or individual the organisation serves."""

    class Kind(models.TextChoices):
        ORGANISATION = "organisation", _("Organisation")
        INDIVIDUAL = "individual", _("Individual")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        INACTIVE = "inactive", _("Inactive")

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("type"), max_length=12, choices=Kind.choices, default=Kind.ORGANISATION)
    segment = models.CharField(_("segment"), max_length=80, blank=True, db_index=True)
    industry = models.CharField(_("industry"), max_length=80, blank=True)
    country = CountryField(_("country"), blank=True)
    account_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account owner"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="owned_customers",
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    notes = models.TextField(_("notes"), blank=True)
    products = models.ManyToManyField(
        Product,
        verbose_name=_("products and services used"),
        blank=True,
        related_name="customers",
        help_text=_("What the customer buys from us; survey campaigns can target the customers of a product."),
    )

    objects = CustomerQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [
            models.Index(fields=["status", "name"], name="customer_status_name_idx"),
            # The keyset ordering of the list pages and API (apps.core.pagination).
            models.Index(fields=["name", "id"], name="customer_name_id_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def audit_label(self) -> str:
        return f"Customer #{self.pk}"


class ContactQuerySet(AuditedQuerySet):
    def with_email(self, email: str) -> ContactQuerySet:
        """Exact e-mail lookup through the blind index (case and surrounding spaces ignored)."""
        from apps.core.crypto import blind_index

        return self.filter(email_index=blind_index(email))

    def surveyable(self) -> ContactQuerySet:
        return self.filter(survey_consent=True, erased_at__isnull=True, customer__status=Customer.Status.ACTIVE)


class Contact(PersonalDataModel, TimeStampedModel):
    """A person at a customer. Name, e-mail and phone are encrypted with the
    contact's own data key (apps.core.crypto); the e-mail is found through its
    blind index. Erasure pseudonymises the row and destroys the key, while the
    quality records pointing at the contact stay."""

    class ConsentSource(models.TextChoices):
        WEB_FORM = "web_form", _("Web form")
        EMAIL = "email", _("E-mail")
        PHONE = "phone", _("Phone")
        IN_PERSON = "in_person", _("In person")
        CONTRACT = "contract", _("Contract")
        IMPORT = "import", _("Import")

    AUDIT_PERSONAL_FIELDS = ("name", "email", "phone")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="contacts"
    )
    name_ct = models.TextField(blank=True, editable=False)
    email_ct = models.TextField(blank=True, editable=False)
    phone_ct = models.TextField(blank=True, editable=False)
    email_index = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    job_role = models.CharField(_("job role"), max_length=120, blank=True)
    preferred_language = models.CharField(_("preferred language"), max_length=10, blank=True)
    survey_consent = models.BooleanField(_("consents to surveys"), default=False)
    survey_consent_at = models.DateTimeField(_("consent given"), null=True, blank=True)
    survey_consent_source = models.CharField(
        _("consent source"), max_length=12, choices=ConsentSource.choices, blank=True
    )
    is_active = models.BooleanField(_("active"), default=True)
    last_activity_at = models.DateTimeField(
        _("last activity"), null=True, blank=True, help_text=_("Last interaction or change; drives retention.")
    )

    name = encrypted_field("name_ct")
    email = encrypted_field("email_ct")
    phone = encrypted_field("phone_ct")

    objects = ContactQuerySet.as_manager()

    class Meta:
        ordering = ["customer_id", "id"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        permissions = [
            ("erase_contact", _("Can erase a contact's personal data")),
            ("export_contact", _("Can export everything held about a contact")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["email_index"], condition=~models.Q(email_index=""), name="contact_email_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(survey_consent=False) | models.Q(survey_consent_at__isnull=False),
                name="contact_consent_dated",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        if self.erased_at is not None:
            return f"Erased contact #{self.pk}"
        return self.name or f"Contact #{self.pk}"

    def audit_label(self) -> str:
        return f"Contact #{self.pk}"


class Interaction(TimeStampedModel):
    """A record of customer communication (8.2.1): who talked with whom, how, about what."""

    class Channel(models.TextChoices):
        MEETING = "meeting", _("Meeting")
        CALL = "call", _("Call")
        EMAIL = "email", _("E-mail")
        VISIT = "visit", _("Visit")
        WORKSHOP = "workshop", _("Workshop")
        ADVISORY_BOARD = "advisory_board", _("Advisory board")
        SOCIAL_MEDIA = "social_media", _("Social media")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="interactions"
    )
    occurred_at = models.DateTimeField(_("date"), db_index=True)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    contacts = models.ManyToManyField(Contact, verbose_name=_("contacts"), blank=True, related_name="interactions")
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("staff involved"), blank=True, related_name="interactions"
    )
    summary = models.TextField(_("summary"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    objects = AuditedQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        # The keyset ordering of the list pages and API (apps.core.pagination).
        indexes = [models.Index(fields=["occurred_at", "id"], name="interaction_occurred_id_idx")]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.occurred_at:%Y-%m-%d}"

    def audit_label(self) -> str:
        return f"Interaction #{self.pk}"


class FollowUpActionQuerySet(AuditedQuerySet):
    def open(self) -> FollowUpActionQuerySet:
        return self.filter(done_at__isnull=True)


class FollowUpAction(TimeStampedModel):
    """Something promised in an interaction, with an owner and a due date."""

    interaction = models.ForeignKey(Interaction, on_delete=models.CASCADE, related_name="follow_ups")
    description = models.CharField(_("action"), max_length=300)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="follow_ups"
    )
    due_date = models.DateField(_("due date"))
    done_at = models.DateTimeField(_("done"), null=True, blank=True)

    objects = FollowUpActionQuerySet.as_manager()

    class Meta:
        ordering = ["due_date", "id"]
        verbose_name = _("follow-up action")
        verbose_name_plural = _("follow-up actions")

    def __str__(self) -> str:
        return self.description

    def audit_label(self) -> str:
        return f"Follow-up #{self.pk}"
