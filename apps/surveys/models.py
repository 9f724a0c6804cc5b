"""Customer-satisfaction surveys (ISO 9001 9.1.2): templates, campaigns, invitations, answers.

Change rows only through services. Templates are versioned: once a campaign has sent
invitations from a version (`TemplateVersion.locked_at`), its questions never change and
editing makes a new version. Invitation tokens are never stored: the link token is an
HMAC of the invitation's random nonce under SECRET_KEY, and only its SHA-256 is kept for
lookup, so nobody reading the database (an auditor included) can answer for a customer.
Free-text answers are personal data, encrypted with the response's own data key.
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from apps.accounts.roles import Role
from apps.audit.models import AuditedQuerySet
from apps.core.crypto import PersonalDataModel, encrypted_field
from apps.core.exceptions import InvalidTransition
from apps.core.models import TimeStampedModel
from apps.customers.models import Contact, Customer, Product

VIEW_PERMISSION = "surveys.view_campaign"
MANAGE_PERMISSION = "surveys.manage_campaign"
EXPORT_PERMISSION = "surveys.export_responses"
TEMPLATE_PERMISSION = "surveys.change_surveytemplate"


def new_nonce() -> str:
    return secrets.token_hex(16)


def token_for_nonce(nonce: str) -> str:
    return salted_hmac("apps.surveys.invitation", nonce, algorithm="sha256").hexdigest()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class QuestionKind(models.TextChoices):
    NPS = "nps", _("Net Promoter Score (0-10)")
    CSAT = "csat", _("Satisfaction (1-5)")
    CES = "ces", _("Customer effort (1-7)")
    SINGLE_CHOICE = "single", _("Single choice")
    MULTIPLE_CHOICE = "multiple", _("Multiple choice")
    TEXT = "text", _("Free text")


# The inclusive score range of each scored kind; the database checks it too (Answer).
SCALES: dict[str, tuple[int, int]] = {
    QuestionKind.NPS: (0, 10),
    QuestionKind.CSAT: (1, 5),
    QuestionKind.CES: (1, 7),
}
CHOICE_KINDS = (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE)


class SurveyTemplate(TimeStampedModel):
    """A named questionnaire. Its questions live in numbered versions."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = AuditedQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("survey template")
        verbose_name_plural = _("survey templates")

    def __str__(self) -> str:
        return self.name

    def audit_label(self) -> str:
        return f"Survey template #{self.pk}"


class TemplateVersion(TimeStampedModel):
    """One frozen-once-used set of questions of a template.

    `locked_at` is set when a campaign first sends invitations from this version;
    from then on its questions are read-only and an edit creates version number + 1.
    """

    template = models.ForeignKey(SurveyTemplate, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveSmallIntegerField(_("version"))
    title = models.CharField(_("title shown to customers"), max_length=200)
    introduction = models.TextField(_("introduction"), blank=True)
    thank_you = models.TextField(_("thank-you message"), blank=True)
    locked_at = models.DateTimeField(_("locked"), null=True, blank=True)

    objects = AuditedQuerySet.as_manager()

    class Meta:
        ordering = ["template_id", "-number"]
        verbose_name = _("survey template version")
        verbose_name_plural = _("survey template versions")
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="survey_version_unique"),
            models.CheckConstraint(condition=models.Q(number__gte=1), name="survey_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.template} v{self.number}"

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None

    def audit_label(self) -> str:
        return f"Survey template #{self.template_id} v{self.number}"


class Question(models.Model):
    """A question of a template version, in `position` order."""

    Kind = QuestionKind

    version = models.ForeignKey(TemplateVersion, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField(_("position"))
    kind = models.CharField(_("type"), max_length=10, choices=QuestionKind.choices)
    text = models.CharField(_("question"), max_length=500)
    help_text = models.CharField(_("help text"), max_length=500, blank=True)
    required = models.BooleanField(_("required"), default=True)
    choices = ArrayField(models.CharField(max_length=200), default=list, blank=True, verbose_name=_("choices"))

    objects = AuditedQuerySet.as_manager()

    class Meta:
        ordering = ["version_id", "position"]
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        constraints = [
            models.UniqueConstraint(fields=["version", "position"], name="survey_question_position_unique"),
        ]

    def __str__(self) -> str:
        return self.text

    @property
    def scale(self) -> tuple[int, int] | None:
        return SCALES.get(self.kind)

    def audit_label(self) -> str:
        return f"Survey question #{self.pk}"


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SCHEDULED = "scheduled", _("Scheduled")
    ACTIVE = "active", _("Active")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


class Recurrence(models.TextChoices):
    ONCE = "once", _("Once")
    MONTHLY = "monthly", _("Monthly")
    QUARTERLY = "quarterly", _("Quarterly")
    YEARLY = "yearly", _("Yearly")


# The shortest time between two runs of a recurrence, in days (a month from February 15,
# the quarter February to April). Survey fatigue must stay below it, or a campaign's own
# previous wave keeps every contact out of the next one.
RECURRENCE_SHORTEST_GAP_DAYS: dict[str, int] = {
    Recurrence.MONTHLY: 28,
    Recurrence.QUARTERLY: 89,
    Recurrence.YEARLY: 365,
}
DEFAULT_FATIGUE_DAYS = 30


class AudienceKind(models.TextChoices):
    SEGMENTS = "segments", _("Customers in segments")
    PRODUCT = "product", _("Customers of a product")
    CONTACTS = "contacts", _("Chosen contacts (list or CSV upload)")


class CampaignQuerySet(AuditedQuerySet):
    def due(self, now) -> CampaignQuerySet:
        return self.filter(
            status__in=[CampaignStatus.SCHEDULED, CampaignStatus.ACTIVE],
            next_run_at__isnull=False,
            next_run_at__lte=now,
        )


class Campaign(TimeStampedModel):
    """A survey sent to an audience once or on a recurring schedule.

    Each run is a `Wave`. `next_run_at` is the schedule a quality manager sees and
    edits; a beat tick claims due campaigns by advancing it in a conditional UPDATE
    and creating the wave (unique per campaign and number) in the same transaction.
    """

    Status = CampaignStatus
    Recurrence = Recurrence
    AudienceKind = AudienceKind

    TRANSITIONS: dict[str, set[str]] = {
        Status.DRAFT: {Status.SCHEDULED, Status.CANCELLED},
        Status.SCHEDULED: {Status.DRAFT, Status.ACTIVE, Status.CANCELLED},
        Status.ACTIVE: {Status.COMPLETED, Status.CANCELLED},
        Status.COMPLETED: set(),
        Status.CANCELLED: set(),
    }

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    template_version = models.ForeignKey(
        TemplateVersion, verbose_name=_("questionnaire"), on_delete=models.PROTECT, related_name="campaigns"
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.DRAFT, db_index=True)
    audience_kind = models.CharField(_("audience"), max_length=10, choices=AudienceKind.choices)
    audience_segments = ArrayField(
        models.CharField(max_length=80), default=list, blank=True, verbose_name=_("segments")
    )
    audience_product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    audience_contacts = models.ManyToManyField(
        Contact, verbose_name=_("contacts"), blank=True, related_name="survey_campaigns"
    )
    recurrence = models.CharField(_("repeats"), max_length=10, choices=Recurrence.choices, default=Recurrence.ONCE)
    next_run_at = models.DateTimeField(_("next send"), null=True, blank=True, db_index=True)
    last_wave_number = models.PositiveIntegerField(default=0, editable=False)
    reminder_interval_days = models.PositiveSmallIntegerField(_("days between reminders"), default=7)
    max_reminders = models.PositiveSmallIntegerField(_("reminders at most"), default=2)
    close_after_days = models.PositiveSmallIntegerField(_("closes after (days)"), default=21)
    fatigue_days = models.PositiveSmallIntegerField(
        _("skip contacts surveyed within (days)"),
        default=DEFAULT_FATIGUE_DAYS,
        help_text=_("Contacts invited by any campaign within this many days are not invited again."),
    )
    send_rate_per_minute = models.PositiveIntegerField(_("e-mails per minute"), default=600)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="survey_campaigns"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    objects = CampaignQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("survey campaign")
        verbose_name_plural = _("survey campaigns")
        permissions = [
            ("manage_campaign", _("Can create, schedule and cancel survey campaigns")),
            ("export_responses", _("Can export survey responses")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(reminder_interval_days__gte=1), name="survey_campaign_reminder_interval"
            ),
            models.CheckConstraint(condition=models.Q(max_reminders__lte=10), name="survey_campaign_max_reminders"),
            models.CheckConstraint(condition=models.Q(close_after_days__gte=1), name="survey_campaign_close_after"),
            models.CheckConstraint(condition=models.Q(send_rate_per_minute__gte=1), name="survey_campaign_rate"),
            models.CheckConstraint(
                condition=~models.Q(audience_kind=AudienceKind.PRODUCT) | models.Q(audience_product__isnull=False),
                name="survey_campaign_product_audience",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def audit_label(self) -> str:
        return f"Survey campaign #{self.pk}"

    def check_transition(self, to: str) -> None:
        """Raise InvalidTransition unless TRANSITIONS allows the step."""
        if to not in self.TRANSITIONS[self.status]:
            raise InvalidTransition(
                _("%(name)s cannot go from %(from)s to %(to)s.")
                % {"name": self.name, "from": self.get_status_display(), "to": CampaignStatus(to).label}
            )

    def can_be_changed_by(self, user) -> bool:
        """The object rule: quality managers change any campaign, other managers only their own."""
        if user is None or not user.is_authenticated or not user.is_active:
            return False
        if not user.has_perm(MANAGE_PERMISSION):
            return False
        if user.is_superuser or user.has_role(Role.QUALITY_MANAGER):
            return True
        return self.owner_id == user.pk

    @staticmethod
    def fatigue_limit(recurrence: str) -> int | None:
        """The largest `fatigue_days` a recurrence allows (below its shortest gap); None: no limit."""
        gap = RECURRENCE_SHORTEST_GAP_DAYS.get(recurrence)
        return None if gap is None else gap - 1

    @property
    def effective_fatigue_days(self) -> int:
        """`fatigue_days`, capped by the recurrence for rows saved before the services checked it."""
        limit = self.fatigue_limit(self.recurrence)
        return self.fatigue_days if limit is None else min(self.fatigue_days, limit)

    @property
    def can_send_now(self) -> bool:
        """A scheduled campaign may start early; an active one only if another wave will follow."""
        return self.status == CampaignStatus.SCHEDULED or (
            self.status == CampaignStatus.ACTIVE and self.recurrence != Recurrence.ONCE
        )


class WaveStatus(models.TextChoices):
    PREPARING = "preparing", _("Preparing invitations")
    SENDING = "sending", _("Sending")
    OPEN = "open", _("Open for answers")
    CLOSED = "closed", _("Closed")


class Wave(TimeStampedModel):
    """One run of a campaign: the audience frozen into invitations, sent, open, then closed."""

    Status = WaveStatus

    # A wave closes while still sending when its closing time comes first (the rest is skipped).
    TRANSITIONS: dict[str, set[str]] = {
        Status.PREPARING: {Status.SENDING},
        Status.SENDING: {Status.OPEN, Status.CLOSED},
        Status.OPEN: {Status.CLOSED},
        Status.CLOSED: set(),
    }

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="waves")
    number = models.PositiveIntegerField(_("wave"))
    scheduled_for = models.DateTimeField(_("scheduled for"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PREPARING, db_index=True
    )
    invitations_created_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("all sent"), null=True, blank=True)
    closes_at = models.DateTimeField(_("closes"))
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    objects = AuditedQuerySet.as_manager()

    class Meta:
        ordering = ["campaign_id", "-number"]
        verbose_name = _("campaign wave")
        verbose_name_plural = _("campaign waves")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "number"], name="survey_wave_unique"),
            models.UniqueConstraint(fields=["campaign", "scheduled_for"], name="survey_wave_schedule_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign} #{self.number}"

    def audit_label(self) -> str:
        return f"Survey campaign #{self.campaign_id} wave {self.number}"

    def check_transition(self, to: str) -> None:
        """Raise InvalidTransition unless TRANSITIONS allows the step."""
        if to not in self.TRANSITIONS[self.status]:
            raise InvalidTransition(
                _("Wave %(number)d cannot go from %(from)s to %(to)s.")
                % {"number": self.number, "from": self.get_status_display(), "to": WaveStatus(to).label}
            )


class InvitationStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENDING = "sending", _("Being sent")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")


class Invitation(models.Model):
    """One contact invited by one wave. The link token is derived from `nonce`, never stored.

    Unique per (wave, contact), so recreating a wave's invitations is a no-op. Sending
    claims rows (PENDING -> SENDING with `claimed_at`, a lease a sweeper may take back)
    and records every attempt in `Delivery`.
    """

    Status = InvitationStatus

    wave = models.ForeignKey(Wave, on_delete=models.PROTECT, related_name="invitations")
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="invitations")
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="survey_invitations")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="survey_invitations")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    nonce = models.CharField(max_length=32, unique=True, default=new_nonce, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    reminders_sent = models.PositiveSmallIntegerField(default=0)
    last_reminded_at = models.DateTimeField(null=True, blank=True)
    next_reminder_at = models.DateTimeField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["wave_id", "id"]
        verbose_name = _("survey invitation")
        verbose_name_plural = _("survey invitations")
        constraints = [
            models.UniqueConstraint(fields=["wave", "contact"], name="survey_invitation_unique"),
        ]
        indexes = [
            models.Index(fields=["wave", "status"], name="survey_inv_wave_status"),
            models.Index(fields=["contact", "created_at"], name="survey_inv_contact_created"),
            # The survey response-rate KPI counts a period's invitations and their answers from
            # this index alone (an index-only scan).
            models.Index(fields=["sent_at"], include=["responded_at"], name="survey_inv_sent_idx"),
            models.Index(
                fields=["next_reminder_at"],
                condition=models.Q(responded_at__isnull=True, next_reminder_at__isnull=False),
                name="survey_inv_reminder_due",
            ),
        ]

    def __str__(self) -> str:
        return f"Invitation #{self.pk}"

    def save(self, *args, **kwargs):
        if not self.token_hash:
            self.token_hash = token_hash(self.token)
        super().save(*args, **kwargs)

    @classmethod
    def new(cls, **fields) -> Invitation:
        """An unsaved invitation with a fresh nonce and its token hash, ready for bulk_create
        (which skips save())."""
        invitation = cls(nonce=new_nonce(), **fields)
        invitation.token_hash = token_hash(invitation.token)
        return invitation

    @property
    def token(self) -> str:
        return token_for_nonce(self.nonce)


class DeliveryDetail(models.TextChoices):
    """Why dispatch skipped a message: the value is stored in Delivery.detail, the label shown."""

    CAMPAIGN_CANCELLED = "campaign cancelled", _("Campaign cancelled")
    WAVE_CLOSED = "wave closed", _("The wave closed before it was sent")
    ALREADY_ANSWERED = "already answered", _("Already answered")
    CONTACT_ERASED = "contact erased", _("Contact erased")
    OPTED_OUT = "opted out", _("Opted out of surveys")
    NO_CONSENT = "no survey consent", _("No consent to surveys")
    INACTIVE = "contact or customer inactive", _("Contact or customer inactive")
    NO_EMAIL = "no e-mail address", _("No e-mail address")


class Delivery(models.Model):
    """The delivery log: every invitation and reminder e-mail attempt with its outcome.

    `sequence` 0 is the invitation, 1..n the reminders; a partial unique constraint
    makes "each e-mail is sent once" a database fact. `detail` holds a DeliveryDetail
    value for skipped messages, or the error's type and SMTP code for failed ones.
    """

    class Outcome(models.TextChoices):
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")

    invitation = models.ForeignKey(Invitation, on_delete=models.CASCADE, related_name="deliveries")
    sequence = models.PositiveSmallIntegerField(default=0)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    detail = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["invitation_id", "sequence", "id"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["invitation", "sequence"],
                condition=models.Q(outcome="sent"),
                name="survey_delivery_sent_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.invitation_id}/{self.sequence}: {self.outcome}"

    @property
    def detail_label(self) -> str:
        """`detail` for people: the translated reason of a skip; an error's type and code as stored."""
        if self.detail in DeliveryDetail.values:
            return DeliveryDetail(self.detail).label
        return self.detail


class SurveyOptOut(models.Model):
    """A contact who asked never to be surveyed again (from the link in an invitation)."""

    contact = models.OneToOneField(Contact, on_delete=models.PROTECT, related_name="survey_opt_out")
    invitation = models.ForeignKey(Invitation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("survey opt-out")
        verbose_name_plural = _("survey opt-outs")

    def __str__(self) -> str:
        return f"Opt-out of contact #{self.contact_id}"


class Response(PersonalDataModel):
    """The one response to an invitation (OneToOne). Scores and choices are `Answer` rows;
    free-text answers are a JSON object {question id: text} encrypted with this row's key,
    so erasing the respondent keeps the scores and destroys what they wrote."""

    AUDIT_PERSONAL_FIELDS = ("comments_ct",)

    invitation = models.OneToOneField(Invitation, on_delete=models.PROTECT, related_name="response")
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="responses")
    wave = models.ForeignKey(Wave, on_delete=models.PROTECT, related_name="responses")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="survey_responses")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    submitted_at = models.DateTimeField(_("submitted"), db_index=True)
    comments_ct = models.TextField(blank=True, editable=False)
    follow_up = models.OneToOneField(
        "feedback.Feedback",
        verbose_name=_("follow-up feedback"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="survey_response",
    )

    comments_json = encrypted_field("comments_ct")

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        indexes = [
            models.Index(fields=["campaign", "submitted_at"], name="survey_resp_campaign_time"),
            # The keyset ordering of the list pages and API (apps.core.pagination).
            models.Index(fields=["submitted_at", "id"], name="survey_resp_submitted_id_idx"),
        ]

    def __str__(self) -> str:
        return f"Response #{self.pk}"

    def audit_label(self) -> str:
        return f"Survey response #{self.pk}"


class Answer(models.Model):
    """A scored or chosen answer. `kind`, `campaign` and `submitted_at` repeat the question's
    and response's values so results aggregate over one indexed table."""

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="answers")
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=QuestionKind.choices)
    submitted_at = models.DateTimeField()
    score = models.SmallIntegerField(null=True, blank=True)
    choices = ArrayField(models.CharField(max_length=200), default=list, blank=True)

    class Meta:
        ordering = ["response_id", "question_id"]
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        constraints = [
            models.UniqueConstraint(fields=["response", "question"], name="survey_answer_unique"),
            models.CheckConstraint(
                condition=(
                    models.Q(kind=QuestionKind.NPS, score__gte=0, score__lte=10)
                    | models.Q(kind=QuestionKind.CSAT, score__gte=1, score__lte=5)
                    | models.Q(kind=QuestionKind.CES, score__gte=1, score__lte=7)
                    | models.Q(kind__in=[QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE], score__isnull=True)
                ),
                name="survey_answer_score_in_scale",
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "kind", "submitted_at"], name="survey_answer_campaign_kind"),
            models.Index(fields=["kind", "submitted_at"], name="survey_answer_kind_time"),
        ]

    def __str__(self) -> str:
        return f"Answer #{self.pk}"
