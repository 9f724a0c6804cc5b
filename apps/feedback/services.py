"""Every change to feedback: public submission, staff recording, triage, closing, and
the follow-up (conversion into a complaint, a corrective action).

Each service runs in one transaction, locks the feedback it changes, checks the
actor's right (PermissionDenied) and the workflow (InvalidTransition,
BusinessRuleViolation), and writes its audit entry in the same transaction. The
submitter's name and e-mail appear in the trail only masked.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import User
from apps.audit import services as audit
from apps.audit.models import AuditEntry
from apps.core.exceptions import BusinessRuleViolation
from apps.core.public import earlier_submission
from apps.core.sequences import NextReference
from apps.core.services import email_enqueue, greeting, in_language, outbox_erase
from apps.customers.models import Contact, Customer, Product
from apps.feedback.models import (
    ADD_PERMISSION,
    CONVERT_PERMISSION,
    TRIAGE_PERMISSION,
    VIEW_PERMISSION,
    Feedback,
    FeedbackCategory,
    FeedbackChannel,
    Sentiment,
    sentiment_for_rating,
)

Status = Feedback.Status
# The complaints app's channel for a complaint that began as feedback.
COMPLAINT_CHANNEL = "feedback"
CREATE_FIELDS = [
    "reference",
    "channel",
    "customer",
    "contact",
    "product",
    "rating",
    "sentiment",
    "status",
    "owner",
    "call_back",
    "consent_to_contact",
    "consent_at",
]


def _lock(feedback_id: int) -> Feedback:
    return Feedback.objects.select_for_update().get(pk=feedback_id)


def _check_change(feedback: Feedback, actor: User) -> None:
    if not feedback.can_be_changed_by(actor):
        raise PermissionDenied(_("You may change only feedback you own."))


def _check_perm(actor: User, permission: str, message: str) -> None:
    if actor is None or not actor.is_authenticated or not actor.is_active or not actor.has_perm(permission):
        raise PermissionDenied(message)


def _validate_content(*, text: str, rating: int | None, email: str, consent: bool) -> None:
    errors: dict[str, list[str]] = {}
    if not (text or "").strip():
        errors["text"] = [_("Tell us what you think.")]
    if rating is not None and not 1 <= int(rating) <= 5:
        errors["rating"] = [_("A rating is from 1 to 5.")]
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors["submitter_email"] = [_("Enter a valid e-mail address.")]
    if consent and not email:
        errors["submitter_email"] = [_("Give an e-mail address so that we can contact you.")]
    if errors:
        raise ValidationError(errors)


def _create(*, actor: Any, recorded_by: User | None, **data: Any) -> Feedback:
    name = (data.pop("submitter_name", "") or "").strip()
    email = (data.pop("submitter_email", "") or "").strip()
    consent = bool(data.pop("consent_to_contact", False))
    _validate_content(text=data["text"], rating=data.get("rating"), email=email, consent=consent)
    feedback = Feedback(
        recorded_by=recorded_by,
        sentiment=data.pop("sentiment", "") or sentiment_for_rating(data.get("rating")),
        consent_to_contact=consent,
        consent_at=timezone.now() if consent else None,
        **data,
    )
    feedback.text = feedback.text.strip()
    feedback.submitter_name = name
    feedback.submitter_email = email
    feedback.reference = NextReference("FB")
    feedback.save()
    changes = audit.diff({}, audit.snapshot(feedback, CREATE_FIELDS))
    changes["text"] = [None, "set"]
    if name:
        changes["submitter_name"] = [None, "set"]
    if email:
        changes["submitter_email"] = [None, "set"]
    audit.record(actor=actor, action=AuditEntry.Action.CREATE, obj=feedback, changes=changes)
    return feedback


@transaction.atomic
def feedback_submit_public(
    *,
    text: str,
    rating: int | None = None,
    product: Product | None = None,
    submitter_name: str = "",
    submitter_email: str = "",
    consent_to_contact: bool = False,
    language: str = "",
    submission_key: str = "",
) -> Feedback:
    """Feedback a member of the public left on the web form (anonymous allowed).

    A `submission_key` already recorded returns that feedback: one form sent twice is one record.

    An e-mail is required when they consent to be contacted; the consent is dated.
    Audited with the public as actor; name, e-mail and text are encrypted and masked.
    With an e-mail address, an acknowledgement with the reference is queued (once,
    in `language`), sent by a worker after commit.
    """
    earlier = earlier_submission(Feedback, submission_key)
    if earlier is not None:
        return earlier
    feedback = _create(
        actor=AuditEntry.ActorKind.PUBLIC,
        recorded_by=None,
        submission_key=submission_key or None,
        channel=FeedbackChannel.WEB_FORM,
        text=text,
        rating=rating,
        product=product,
        submitter_name=submitter_name,
        submitter_email=submitter_email,
        consent_to_contact=consent_to_contact,
    )
    if feedback.submitter_email:
        with in_language(language):
            paragraphs = [
                _("Thank you for your feedback. It has the reference %(ref)s.") % {"ref": feedback.reference},
                _("We read every message; it helps us improve our products and services."),
            ]
            if feedback.consent_to_contact:
                paragraphs.append(_("As you agreed, we may contact you at this address about it."))
            email_enqueue(
                to=feedback.submitter_email,
                subject=_("We received your feedback %(ref)s") % {"ref": feedback.reference},
                template="emails/notification.txt",
                html_template="emails/notification.html",
                context={"greeting": greeting(feedback.submitter_name), "paragraphs": paragraphs},
                idempotency_key=f"feedback-ack:{feedback.pk}",
                language=language or None,
                concerns=feedback,
            )
    return feedback


@transaction.atomic
def feedback_record_for_customer(
    *,
    channel: str,
    text: str,
    customer: Customer,
    contact: Contact | None = None,
    product: Product | None = None,
    rating: int | None = None,
    sentiment: str = "",
    owner: User | None = None,
    call_back: bool = False,
) -> Feedback:
    """Feedback the portal records on a customer's behalf (a low survey score, say), with the
    system as actor; `call_back` puts it on the triage board marked for a call to the customer."""
    return _create(
        actor=AuditEntry.ActorKind.SYSTEM,
        recorded_by=None,
        channel=channel,
        text=text,
        customer=customer,
        contact=contact,
        product=product,
        rating=rating,
        sentiment=sentiment,
        owner=owner,
        call_back=call_back,
    )


@transaction.atomic
def feedback_record(
    *,
    actor: User,
    channel: str,
    text: str,
    customer: Customer | None = None,
    contact: Contact | None = None,
    product: Product | None = None,
    rating: int | None = None,
    submitter_name: str = "",
    submitter_email: str = "",
    consent_to_contact: bool = False,
    owner: User | None = None,
) -> Feedback:
    """Staff record feedback received by e-mail, phone, in a meeting, on social media or in a survey.

    The owner defaults to the actor. A contact must belong to the customer given.
    """
    _check_perm(actor, ADD_PERMISSION, _("You may not record feedback."))
    if channel not in FeedbackChannel.values:
        raise ValidationError({"channel": [_("Choose a valid channel.")]})
    if contact is not None:
        if customer is None:
            customer = contact.customer
        elif contact.customer_id != customer.pk:
            raise ValidationError({"contact": [_("The contact does not belong to this customer.")]})
    if owner is not None and not owner.is_active:
        raise BusinessRuleViolation(_("The owner must be an active user."))
    return _create(
        actor=actor,
        recorded_by=actor,
        channel=channel,
        text=text,
        customer=customer,
        contact=contact,
        product=product,
        rating=rating,
        submitter_name=submitter_name,
        submitter_email=submitter_email,
        consent_to_contact=consent_to_contact,
        owner=owner or actor,
    )


@transaction.atomic
def feedback_triage(
    *,
    feedback_id: int,
    actor: User,
    category: FeedbackCategory | None,
    sentiment: str = "",
    owner: User | None = None,
) -> Feedback:
    """File new feedback (category, sentiment, owner): new → triaged. Triaged feedback may be
    re-triaged without a status change. Sentiment defaults to what the rating suggests."""
    _check_perm(actor, TRIAGE_PERMISSION, _("Only quality managers triage feedback."))
    feedback = _lock(feedback_id)
    if feedback.status != Status.TRIAGED:
        feedback.check_transition(Status.TRIAGED)
    sentiment = sentiment or feedback.suggested_sentiment
    if sentiment and sentiment not in Sentiment.values:
        raise ValidationError({"sentiment": [_("Choose a valid sentiment.")]})
    if owner is not None and not owner.is_active:
        raise BusinessRuleViolation(_("The owner must be an active user."))
    fields = ["category", "sentiment", "owner", "status", "triaged_at"]
    before = audit.snapshot(feedback, fields)
    feedback.category = category
    feedback.sentiment = sentiment
    feedback.owner = owner or feedback.owner
    if feedback.status == Status.NEW:
        feedback.status = Status.TRIAGED
        feedback.triaged_at = timezone.now()
    changes = audit.diff(before, audit.snapshot(feedback, fields))
    if not changes:
        return feedback
    feedback.save(update_fields=[*fields, "updated_at"])
    action = AuditEntry.Action.TRANSITION if "status" in changes else AuditEntry.Action.UPDATE
    audit.record(actor=actor, action=action, obj=feedback, changes=changes)
    return feedback


@transaction.atomic
def feedback_close(*, feedback_id: int, actor: User, reason: str = "") -> Feedback:
    """Close feedback that needs nothing (more): final. Owner or quality manager."""
    feedback = _lock(feedback_id)
    _check_change(feedback, actor)
    feedback.check_transition(Status.CLOSED)
    before = feedback.status
    feedback.status = Status.CLOSED
    feedback.closed_at = timezone.now()
    feedback.close_reason = (reason or "").strip()
    feedback.save(update_fields=["status", "closed_at", "close_reason", "updated_at"])
    audit.record(
        actor=actor,
        action=AuditEntry.Action.TRANSITION,
        obj=feedback,
        changes={"status": [before, Status.CLOSED]},
        reason=feedback.close_reason,
    )
    return feedback


def _mark_actioned(feedback: Feedback, *, actor: User, changes: dict, fields: list[str], reason: str) -> None:
    """Move to actioned (feedback already actioned stays so) and write one audit entry."""
    if feedback.status != Status.ACTIONED:
        feedback.check_transition(Status.ACTIONED)
        changes["status"] = [feedback.status, Status.ACTIONED]
        feedback.status = Status.ACTIONED
        fields = [*fields, "status"]
    feedback.save(update_fields=[*fields, "updated_at"])
    action = AuditEntry.Action.TRANSITION if "status" in changes else AuditEntry.Action.UPDATE
    audit.record(actor=actor, action=action, obj=feedback, changes=changes, reason=reason)


@transaction.atomic
def feedback_convert_to_complaint(*, feedback_id: int, actor: User):
    """Open a complaint from the feedback's data, link it (feedback.complaint) and mark the
    feedback actioned. Refused for closed feedback and for feedback already converted."""
    from apps.complaints.services import complaint_create

    _check_perm(actor, CONVERT_PERMISSION, _("Only quality managers convert feedback into complaints."))
    feedback = _lock(feedback_id)
    if feedback.complaint_id is not None:
        raise BusinessRuleViolation(_("%(ref)s was already converted into a complaint.") % {"ref": feedback.reference})
    if feedback.status != Status.ACTIONED:
        feedback.check_transition(Status.ACTIONED)
    contact = feedback.contact
    complaint = complaint_create(
        actor=actor,
        channel=COMPLAINT_CHANNEL,
        complainant_name=(contact.name if contact else feedback.submitter_name) or _("Anonymous"),
        complainant_email=(contact.email if contact else feedback.submitter_email) or "",
        description=feedback.text,
        customer=feedback.customer,
        customer_name=feedback.customer.name if feedback.customer else "",
        contact=contact,
        product=feedback.product,
    )
    feedback.complaint = complaint
    _mark_actioned(
        feedback,
        actor=actor,
        changes={"complaint": [None, complaint.pk]},
        fields=["complaint"],
        reason=_("Converted into complaint %(ref)s") % {"ref": complaint.reference},
    )
    return feedback


@transaction.atomic
def feedback_raise_action(
    *,
    feedback_id: int,
    actor: User,
    title: str,
    nonconformity: str = "",
    owner: User | None = None,
    containment: str = "",
):
    """Raise a corrective action (apps.actions) with this feedback as its source and mark the
    feedback actioned. The nonconformity defaults to the feedback's text. Returns the action."""
    from apps.actions.services import action_raise

    _check_perm(actor, VIEW_PERMISSION, _("You may not see this feedback."))
    feedback = _lock(feedback_id)
    _check_change(feedback, actor)
    if feedback.status != Status.ACTIONED:
        feedback.check_transition(Status.ACTIONED)
    if not (title or "").strip():
        raise ValidationError({"title": [_("Give the action a title.")]})
    action = action_raise(
        source=feedback,
        title=title.strip(),
        nonconformity=(nonconformity or "").strip() or feedback.text,
        actor=actor,
        owner=owner,
        containment=containment,
    )
    _mark_actioned(
        feedback,
        actor=actor,
        changes={},
        fields=[],
        reason=_("Corrective action %(ref)s raised") % {"ref": getattr(action, "reference", action.pk)},
    )
    return action


# Categories ---------------------------------------------------------------------------


@transaction.atomic
def category_create(*, actor: User, name: str, description: str = "") -> FeedbackCategory:
    """A new feedback category (quality managers)."""
    _check_perm(actor, "feedback.add_feedbackcategory", _("Only quality managers manage feedback categories."))
    name = name.strip()
    if FeedbackCategory.objects.filter(name__iexact=name).exists():
        raise ValidationError({"name": [_("A category with this name already exists.")]})
    category = FeedbackCategory.objects.create(name=name, description=description.strip())
    audit.record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        obj=category,
        changes=audit.diff({}, audit.snapshot(category, ["name", "description", "is_active"])),
    )
    return category


@transaction.atomic
def category_set_active(*, category_id: int, actor: User, is_active: bool) -> FeedbackCategory:
    """Retire a category (or bring it back); feedback filed under it keeps it."""
    _check_perm(actor, "feedback.change_feedbackcategory", _("Only quality managers manage feedback categories."))
    category = FeedbackCategory.objects.select_for_update().get(pk=category_id)
    if category.is_active == is_active:
        return category
    category.is_active = is_active
    category.save(update_fields=["is_active", "updated_at"])
    audit.record(
        actor=actor, action=AuditEntry.Action.UPDATE, obj=category, changes={"is_active": [not is_active, is_active]}
    )
    return category


# Personal data ---------------------------------------------------------------------------


@transaction.atomic
def feedback_erase_personal_data(*, feedback_id: int, actor: User | str, reason: str) -> Feedback:
    """Erase the submitter's name, e-mail and text (on request, or by the retention job with the
    system actor): the ciphertext is cleared and the row's data key destroyed, the acknowledgement
    cleared from the outbox (cancelled if unsent); the feedback stays as a quality record. Idempotent."""
    if actor != AuditEntry.ActorKind.SYSTEM:
        _check_perm(actor, TRIAGE_PERMISSION, _("Only quality managers erase personal data in feedback."))
    reason = (reason or "").strip()
    if not reason:
        raise BusinessRuleViolation(_("Say why the personal data is erased."))
    feedback = _lock(feedback_id)
    if feedback.erased_at is not None:
        return feedback
    feedback.submitter_name_ct = ""
    feedback.submitter_email_ct = ""
    feedback.text_ct = ""
    feedback.consent_to_contact = False
    feedback.consent_at = None
    feedback.shred_key()
    feedback.erased_at = timezone.now()
    feedback.save(
        update_fields=[
            "submitter_name_ct",
            "submitter_email_ct",
            "text_ct",
            "consent_to_contact",
            "consent_at",
            "data_key",
            "erased_at",
            "updated_at",
        ]
    )
    outbox_erase(record=feedback)
    audit.record(
        actor=actor,
        action=AuditEntry.Action.ERASE,
        obj=feedback,
        changes={name: ["erased", "erased"] for name in ("submitter_name", "submitter_email", "text")},
        reason=reason,
    )
    return feedback


def feedback_erase_for_contact(*, contact_id: int, actor) -> list[int]:
    """Erasing a contact erases the feedback given as that contact (apps.core.personal_data)."""
    ids = list(Feedback.objects.filter(contact_id=contact_id, erased_at__isnull=True).values_list("pk", flat=True))
    for feedback_id in ids:
        feedback_erase_personal_data(
            feedback_id=feedback_id,
            actor=AuditEntry.ActorKind.SYSTEM,
            reason=f"The personal data of contact #{contact_id} was erased.",
        )
    return ids


def feedback_past_retention(*, now=None):
    """Feedback not erased yet and unchanged for FEEDBACK_PERSONAL_DATA_RETENTION_DAYS."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.FEEDBACK_PERSONAL_DATA_RETENTION_DAYS)
    return Feedback.objects.filter(erased_at__isnull=True, updated_at__lt=cutoff).order_by("pk")


def retention_apply(*, limit: int = 500) -> list[int]:
    """Erase feedback submitters past retention, each in its own transaction; returns the ids."""
    ids = list(feedback_past_retention().values_list("pk", flat=True)[:limit])
    reason = f"Retention period of {settings.FEEDBACK_PERSONAL_DATA_RETENTION_DAYS} days without change ended."
    for feedback_id in ids:
        feedback_erase_personal_data(feedback_id=feedback_id, actor=AuditEntry.ActorKind.SYSTEM, reason=reason)
    return ids
