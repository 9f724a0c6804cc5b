"""Feedback from every channel (ISO 9001 9.1.2): praise, suggestions and criticism that are
not (yet) complaints. Change rows only through services.py.

A member of the public may leave a name and e-mail with web feedback; those and the feedback
text itself are personal data, encrypted with the row's own data key (apps.core.crypto) and
masked in the trail. Erasing the submitter destroys the key; the quality record (channel,
rating, sentiment, category, product, status, dates) stays.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.accounts.roles import Role
from apps.audit.models import AuditedQuerySet
from apps.core.crypto import PersonalDataModel, encrypted_field
from apps.core.exceptions import InvalidTransition
from apps.core.models import CategoryBase, TimeStampedModel
from apps.core.sequences import ReferenceField
from apps.customers.models import Contact, Customer, Product

VIEW_PERMISSION = "feedback.view_feedback"
ADD_PERMISSION = "feedback.add_feedback"
CHANGE_PERMISSION = "feedback.change_feedback"
TRIAGE_PERMISSION = "feedback.triage_feedback"
CONVERT_PERMISSION = "feedback.convert_feedback"


class FeedbackChannel(models.TextChoices):
    WEB_FORM = "web_form", _("Web form")
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone")
    MEETING = "meeting", _("Meeting")
    SOCIAL_MEDIA = "social_media", _("Social media")
    SURVEY = "survey", _("Survey")


class FeedbackStatus(models.TextChoices):
    NEW = "new", _("New")
    TRIAGED = "triaged", _("Triaged")
    ACTIONED = "actioned", _("Actioned")
    CLOSED = "closed", _("Closed")


class Sentiment(models.TextChoices):
    POSITIVE = "positive", _("Positive")
    NEUTRAL = "neutral", _("Neutral")
    NEGATIVE = "negative", _("Negative")


def sentiment_for_rating(rating: int | None) -> str:
    """The default sentiment of a rating: 4-5 positive, 3 neutral, 1-2 negative, none without one."""
    if rating is None:
        return ""
    if rating >= 4:
        return Sentiment.POSITIVE
    if rating == 3:
        return Sentiment.NEUTRAL
    return Sentiment.NEGATIVE


class FeedbackCategory(CategoryBase):
    """A topic feedback is filed under at triage (delivery, product quality, service…)."""

    description = models.CharField(_("description"), max_length=300, blank=True)

    objects = AuditedQuerySet.as_manager()

    class Meta(CategoryBase.Meta):
        verbose_name = _("feedback category")
        verbose_name_plural = _("feedback categories")

    def audit_label(self) -> str:
        return f"Feedback category #{self.pk}"


class FeedbackQuerySet(AuditedQuerySet):
    def visible_to(self, user) -> FeedbackQuerySet:
        """Everyone who may view feedback sees all of it; nobody else sees any."""
        if user is None or not user.is_authenticated or not user.has_perm(VIEW_PERMISSION):
            return self.none()
        return self

    def search(self, text: str) -> FeedbackQuerySet:
        text = text.strip()
        if not text:
            return self
        # The text is encrypted, so the database cannot search it: reference or customer name.
        return self.filter(models.Q(reference__iexact=text) | models.Q(customer__name__icontains=text))

    def with_relations(self) -> FeedbackQuerySet:
        return self.select_related("customer", "product", "category", "owner")


class Feedback(PersonalDataModel, TimeStampedModel):
    """One piece of feedback with its reference FB-YYYY-NNNNN (numbered per year).

    Status changes only through services.py along TRANSITIONS. `complaint` is set
    once, when the feedback is converted; corrective actions point here through
    apps.actions (generic source). Submitter name/e-mail are personal data.
    """

    Status = FeedbackStatus
    Channel = FeedbackChannel

    # Converting or raising an action may happen straight from the inbox (new) or after
    # triage; actioned feedback is closed once its follow-up is done. Closed is final.
    TRANSITIONS: dict[str, set[str]] = {
        Status.NEW: {Status.TRIAGED, Status.ACTIONED, Status.CLOSED},
        Status.TRIAGED: {Status.ACTIONED, Status.CLOSED},
        Status.ACTIONED: {Status.CLOSED},
        Status.CLOSED: set(),
    }
    AUDIT_PERSONAL_FIELDS = ("submitter_name", "submitter_email", "submitter_name_ct", "submitter_email_ct", "text")

    reference = ReferenceField(_("reference"), max_length=20, unique=True, editable=False)
    # The public form's key (apps.core.public.SubmissionKeyMixin): one record per form sent.
    submission_key = models.CharField(max_length=32, null=True, blank=True, unique=True, editable=False)
    channel = models.CharField(_("channel"), max_length=20, choices=FeedbackChannel.choices)
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, null=True, blank=True, related_name="feedback"
    )
    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), on_delete=models.PROTECT, null=True, blank=True, related_name="feedback"
    )
    submitter_name_ct = models.TextField(blank=True, editable=False)
    submitter_email_ct = models.TextField(blank=True, editable=False)
    product = models.ForeignKey(
        Product,
        verbose_name=_("product or service"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="feedback",
    )
    rating = models.PositiveSmallIntegerField(_("rating"), null=True, blank=True)
    text_ct = models.TextField(editable=False)
    category = models.ForeignKey(
        FeedbackCategory,
        verbose_name=_("category"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="feedback",
    )
    sentiment = models.CharField(_("sentiment"), max_length=10, choices=Sentiment.choices, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.NEW, db_index=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="owned_feedback",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty for feedback the public submitted."),
    )
    call_back = models.BooleanField(
        _("call the customer back"),
        default=False,
        help_text=_("Set for a low survey score: someone should contact the customer."),
    )
    consent_to_contact = models.BooleanField(_("may be contacted about this feedback"), default=False)
    consent_at = models.DateTimeField(_("consent given"), null=True, blank=True)
    triaged_at = models.DateTimeField(_("triaged"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    close_reason = models.TextField(_("reason for closing"), blank=True)
    complaint = models.OneToOneField(
        "complaints.Complaint",
        verbose_name=_("complaint"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="source_feedback",
        help_text=_("The complaint this feedback was converted into."),
    )

    submitter_name = encrypted_field("submitter_name_ct")
    submitter_email = encrypted_field("submitter_email_ct")
    text = encrypted_field("text_ct")

    objects = FeedbackQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("feedback")
        verbose_name_plural = _("feedback")
        permissions = [
            ("triage_feedback", _("Can triage feedback")),
            ("convert_feedback", _("Can convert feedback into a complaint")),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="feedback_status_created_idx"),
            # The keyset ordering of the list pages and API (apps.core.pagination).
            models.Index(fields=["created_at", "id"], name="feedback_created_id_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rating__isnull=True) | models.Q(rating__gte=1, rating__lte=5),
                name="feedback_rating_1_to_5",
            ),
            models.CheckConstraint(condition=models.Q(status__in=FeedbackStatus.values), name="feedback_status_valid"),
            models.CheckConstraint(
                condition=models.Q(channel__in=FeedbackChannel.values), name="feedback_channel_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(sentiment__in=[*Sentiment.values, ""]), name="feedback_sentiment_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(consent_to_contact=False) | models.Q(consent_at__isnull=False),
                name="feedback_consent_dated",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    def audit_label(self) -> str:
        return f"Feedback {self.reference}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("feedback:feedback_detail", args=[self.pk])

    @property
    def is_final(self) -> bool:
        return not self.TRANSITIONS[self.status]

    @property
    def suggested_sentiment(self) -> str:
        return self.sentiment or sentiment_for_rating(self.rating)

    @property
    def submitter_display(self) -> str:
        """Who gave the feedback, for staff pages (escaped by the templates)."""
        if self.contact_id:
            return self.contact.display_name
        if self.erased_at is not None:
            return _("Erased")
        return self.submitter_name or _("Anonymous")

    def can_transition(self, to: str) -> bool:
        return to in self.TRANSITIONS[self.status]

    def check_transition(self, to: str) -> None:
        if not self.can_transition(to):
            raise InvalidTransition(
                _("%(ref)s cannot go from %(from)s to %(to)s.")
                % {"ref": self.reference, "from": self.get_status_display(), "to": FeedbackStatus(to).label}
            )

    def can_be_changed_by(self, user) -> bool:
        """The object rule: quality managers change any feedback, staff only feedback they own."""
        if user is None or not user.is_authenticated or not user.is_active:
            return False
        if not user.has_perm(CHANGE_PERMISSION):
            return False
        if user.is_superuser or user.has_role(Role.QUALITY_MANAGER) or user.has_perm(TRIAGE_PERMISSION):
            return True
        return user.pk is not None and user.pk == self.owner_id
