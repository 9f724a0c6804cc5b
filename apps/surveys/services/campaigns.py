"""Survey campaigns: creating, changing, scheduling and cancelling them, and CSV audiences.

Only users with MANAGE_PERMISSION (quality managers, or staff given the capability on the
People page) run campaigns, and only quality managers change campaigns they do not own
(`Campaign.can_be_changed_by`); every service checks both (PermissionDenied). Status changes go
through `Campaign.TRANSITIONS` (InvalidTransition). The audience and the questionnaire are
fixed once the first wave exists (the invitations were made from them); the schedule may
change while the campaign is draft, scheduled or active. Each service locks the campaign
row and writes its audit entry in the same transaction.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.accounts.models import User
from apps.audit import services as audit
from apps.audit.models import AuditEntry
from apps.core.crypto import blind_index
from apps.core.exceptions import BusinessRuleViolation
from apps.core.queue import enqueue_on_commit
from apps.customers.models import Contact, Product
from apps.surveys.models import (
    DEFAULT_FATIGUE_DAYS,
    MANAGE_PERMISSION,
    RECURRENCE_SHORTEST_GAP_DAYS,
    Campaign,
    SurveyOptOut,
    SurveyTemplate,
    TemplateVersion,
)
from apps.surveys.services.dispatch import audit_reason
from apps.surveys.services.permissions import require_campaign_change, require_perm

Status = Campaign.Status
AudienceKind = Campaign.AudienceKind

AUDIENCE_FIELDS = ["template_version", "audience_kind", "audience_segments", "audience_product", "audience_contacts"]
SCHEDULE_FIELDS = [
    "recurrence",
    "next_run_at",
    "reminder_interval_days",
    "max_reminders",
    "close_after_days",
    "fatigue_days",
    "send_rate_per_minute",
]
GENERAL_FIELDS = ["name", "description", "owner"]
EDITABLE_FIELDS = [*GENERAL_FIELDS, *AUDIENCE_FIELDS, *SCHEDULE_FIELDS]
SCALAR_FIELDS = [name for name in EDITABLE_FIELDS if name != "audience_contacts"]
SCHEDULE_STATUSES = {Status.DRAFT, Status.SCHEDULED, Status.ACTIVE}
FINAL_STATUSES = {Status.COMPLETED, Status.CANCELLED}
# (field, smallest, largest): the database checks the lower bounds too; the upper ones keep
# a typo (fatigue of 3000 days, 10^6 mails a minute) from silently disabling a campaign.
LIMITS = [
    ("reminder_interval_days", 1, 90),
    ("max_reminders", 0, 10),
    ("close_after_days", 1, 365),
    ("fatigue_days", 0, 365),
    ("send_rate_per_minute", 1, 100_000),
]
MAX_IMPORT_BYTES = 2 * 1024 * 1024
# Contacts are matched in batches through the blind index, so a full file costs a few queries.
MAX_IMPORT_ROWS = 5000
LOOKUP_BATCH = 1000
EMAIL_COLUMNS = ("email", "e-mail", "contact_email")


# Guards ---------------------------------------------------------------------------------


def audience_editable(campaign: Campaign) -> bool:
    """The audience and questionnaire are frozen into the first wave's invitations."""
    return campaign.last_wave_number == 0 and campaign.status in (Status.DRAFT, Status.SCHEDULED)


def _lock(campaign_id: int, actor: User) -> Campaign:
    """The campaign row, locked, once `actor` is known to be allowed to change it."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
    require_campaign_change(actor, campaign)
    return campaign


# Validation -----------------------------------------------------------------------------


def _validate(data: dict[str, Any], *, now: datetime, changed: set[str] | None = None) -> None:
    """Field rules shared by create and update; raises ValidationError {field: [message]}.

    `changed` (None: every field, on create) limits the rules that depend on the moment to
    the fields being changed: a next send time that has passed, or an owner who has since
    lost the permission, must not block an unrelated edit."""
    errors: dict[str, list[str]] = {}
    if not (data.get("name") or "").strip():
        errors["name"] = [_("Give the campaign a name.")]
    version: TemplateVersion | None = data.get("template_version")
    if version is None:
        errors["template_version"] = [_("Choose a questionnaire.")]
    kind = data.get("audience_kind")
    if kind not in AudienceKind.values:
        errors["audience_kind"] = [_("Choose who receives the survey.")]
    elif kind == AudienceKind.SEGMENTS and not data.get("audience_segments"):
        errors["audience_segments"] = [_("Choose at least one customer segment.")]
    elif kind == AudienceKind.PRODUCT and data.get("audience_product") is None:
        errors["audience_product"] = [_("Choose the product whose customers receive the survey.")]
    if data.get("recurrence") not in Campaign.Recurrence.values:
        errors["recurrence"] = [_("Choose how often the survey is sent.")]
    next_run_at = data.get("next_run_at")
    if (changed is None or "next_run_at" in changed) and next_run_at is not None and next_run_at <= now:
        errors["next_run_at"] = [_("The next send time must be in the future.")]
    for name, low, high in LIMITS:
        value = data.get(name)
        if value is None or not low <= int(value) <= high:
            errors[name] = [_("Enter a whole number from %(low)d to %(high)d.") % {"low": low, "high": high}]
    limit = Campaign.fatigue_limit(data.get("recurrence"))
    fatigue_checked = changed is None or bool(changed & {"fatigue_days", "recurrence"})
    if fatigue_checked and "fatigue_days" not in errors and limit is not None and int(data["fatigue_days"]) > limit:
        errors["fatigue_days"] = [
            _(
                "A %(recurrence)s campaign runs again after %(gap)d days at the shortest: enter at most "
                "%(limit)d days, or its own previous wave would keep every contact out of the next one."
            )
            % {
                "recurrence": Campaign.Recurrence(data["recurrence"]).label.lower(),
                "gap": RECURRENCE_SHORTEST_GAP_DAYS[data["recurrence"]],
                "limit": limit,
            }
        ]
    owner: User | None = data.get("owner")
    owner_ok = owner is not None and owner.is_active and owner.has_perm(MANAGE_PERMISSION)
    if (changed is None or "owner" in changed) and not owner_ok:
        errors["owner"] = [_("The owner must be an active user who may run survey campaigns.")]
    if errors:
        raise ValidationError(errors)


def _normalise_audience(data: dict[str, Any]) -> None:
    """Keep only the audience fields of the chosen kind, so a campaign never carries stale
    segments or a product that no longer decides who is invited."""
    kind = data.get("audience_kind")
    segments = sorted({segment.strip() for segment in data.get("audience_segments") or [] if segment.strip()})
    data["audience_segments"] = segments if kind == AudienceKind.SEGMENTS else []
    if kind != AudienceKind.PRODUCT:
        data["audience_product"] = None


def _template_active(version: TemplateVersion) -> bool:
    # Read now, not from the caller's instance: it may predate the questionnaire's retirement.
    return SurveyTemplate.objects.filter(pk=version.template_id, is_active=True).exists()


def _contact_ids(contacts) -> list[int]:
    return sorted({contact if isinstance(contact, int) else contact.pk for contact in contacts or []})


# Services -------------------------------------------------------------------------------


@transaction.atomic
def campaign_create(
    *,
    actor: User,
    name: str,
    description: str = "",
    template_version: TemplateVersion,
    audience_kind: str,
    audience_segments: list[str] | None = None,
    audience_product: Product | None = None,
    audience_contacts: list[Contact] | None = None,
    recurrence: str = Campaign.Recurrence.ONCE,
    next_run_at: datetime | None = None,
    reminder_interval_days: int = 7,
    max_reminders: int = 2,
    close_after_days: int = 21,
    fatigue_days: int | None = None,
    send_rate_per_minute: int = 600,
    owner: User | None = None,
) -> Campaign:
    """A new campaign in DRAFT. The questionnaire must be active; the next send time, when
    given, in the future; survey fatigue below the recurrence's shortest gap (None: the
    default of 30 days, lowered to fit a monthly recurrence). Scheduling is a separate step
    (campaign_schedule)."""
    require_perm(actor, MANAGE_PERMISSION)
    if fatigue_days is None:
        limit = Campaign.fatigue_limit(recurrence)
        fatigue_days = DEFAULT_FATIGUE_DAYS if limit is None else min(DEFAULT_FATIGUE_DAYS, limit)
    data = {
        "name": (name or "").strip(),
        "description": (description or "").strip(),
        "template_version": template_version,
        "audience_kind": audience_kind,
        "audience_segments": list(audience_segments or []),
        "audience_product": audience_product,
        "recurrence": recurrence,
        "next_run_at": next_run_at,
        "reminder_interval_days": reminder_interval_days,
        "max_reminders": max_reminders,
        "close_after_days": close_after_days,
        "fatigue_days": fatigue_days,
        "send_rate_per_minute": send_rate_per_minute,
        "owner": owner or actor,
    }
    _validate(data, now=timezone.now())
    if not _template_active(template_version):
        raise ValidationError({"template_version": [_("This questionnaire is retired; choose an active one.")]})
    _normalise_audience(data)
    contact_ids = _contact_ids(audience_contacts) if audience_kind == AudienceKind.CONTACTS else []
    campaign = Campaign.objects.create(status=Status.DRAFT, created_by=actor, **data)
    if contact_ids:
        campaign.audience_contacts.set(contact_ids)
    changes = audit.diff({}, audit.snapshot(campaign, ["status", *SCALAR_FIELDS]))
    if contact_ids:
        changes["audience_contacts"] = [None, contact_ids]
    audit.record(actor=actor, action=AuditEntry.Action.CREATE, obj=campaign, changes=changes)
    return campaign


@transaction.atomic
def campaign_update(*, campaign_id: int, actor: User, **fields: Any) -> Campaign:
    """Change a campaign's fields (any of EDITABLE_FIELDS; values equal to the current ones
    are ignored, so a form may post everything). The audience and questionnaire change only
    before the first wave; the schedule only while draft, scheduled or active. A scheduled
    campaign keeps a future next send time, and so does an active campaign made recurring."""
    require_perm(actor, MANAGE_PERMISSION)
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"campaign_update: not editable: {sorted(unknown)}")
    campaign = _lock(campaign_id, actor)
    before = audit.snapshot(campaign, SCALAR_FIELDS)
    current = {name: getattr(campaign, name) for name in SCALAR_FIELDS}
    # Compared in the same normal form as the new values (segments sorted), so posting the
    # unchanged form changes nothing.
    _normalise_audience(current)
    data = {**current, **{name: value for name, value in fields.items() if name != "audience_contacts"}}
    if "name" in fields or "description" in fields:
        data["name"], data["description"] = (data["name"] or "").strip(), (data["description"] or "").strip()
    _normalise_audience(data)
    changed = {name for name in SCALAR_FIELDS if data[name] != current[name]}
    contacts_before = _contact_ids(campaign.audience_contacts.values_list("pk", flat=True))
    contacts_after = contacts_before
    if "audience_contacts" in fields:
        contacts_after = (
            _contact_ids(fields["audience_contacts"]) if data["audience_kind"] == AudienceKind.CONTACTS else []
        )
    elif data["audience_kind"] != AudienceKind.CONTACTS:
        contacts_after = []
    if contacts_after != contacts_before:
        changed.add("audience_contacts")
    if not changed:
        return campaign
    if campaign.status in FINAL_STATUSES:
        raise BusinessRuleViolation(_("A finished or cancelled campaign can no longer be changed."))
    if changed & set(AUDIENCE_FIELDS) and not audience_editable(campaign):
        raise BusinessRuleViolation(
            _("The audience and the questionnaire are fixed once the first wave has been sent.")
        )
    if changed & set(SCHEDULE_FIELDS) and campaign.status not in SCHEDULE_STATUSES:
        raise BusinessRuleViolation(_("The schedule can no longer be changed."))
    _validate(data, now=timezone.now(), changed=changed)
    if "template_version" in changed and not _template_active(data["template_version"]):
        raise ValidationError({"template_version": [_("This questionnaire is retired; choose an active one.")]})
    if campaign.status == Status.SCHEDULED and data["next_run_at"] is None:
        raise ValidationError({"next_run_at": [_("A scheduled campaign needs its next send time.")]})
    if (
        campaign.status == Status.ACTIVE
        and data["recurrence"] == Campaign.Recurrence.ONCE
        and "next_run_at" in changed
        and data["next_run_at"] is not None
    ):
        # The beat tick would send a running one-off campaign again at that time.
        raise ValidationError({"next_run_at": [_("A one-off campaign is sent once; make it recurring to send again.")]})
    if (
        campaign.status == Status.ACTIVE
        and data["recurrence"] != Campaign.Recurrence.ONCE
        and data["next_run_at"] is None
    ):
        # The tick only claims campaigns with a next run, and a recurring one never completes.
        raise ValidationError({"next_run_at": [_("A recurring campaign needs the time of its next send.")]})
    for name in changed - {"audience_contacts"}:
        setattr(campaign, name, data[name])
    scalar_changed = sorted(changed - {"audience_contacts"})
    if scalar_changed:
        campaign.save(update_fields=[*scalar_changed, "updated_at"])
    changes = audit.diff(before, audit.snapshot(campaign, SCALAR_FIELDS))
    if "audience_contacts" in changed:
        campaign.audience_contacts.set(contacts_after)
        changes["audience_contacts"] = [contacts_before, contacts_after]
    audit.record(actor=actor, action=AuditEntry.Action.UPDATE, obj=campaign, changes=changes)
    return campaign


def send_problems(campaign: Campaign) -> list[str]:
    """Why the campaign could not go out as it stands (empty when it is ready): the rule
    scheduling applies, shared by "Send now" on a draft so both refuse the same campaigns."""
    problems = []
    if not _audience_defined(campaign):
        problems.append(_("Choose the audience before scheduling."))
    if not campaign.template_version.questions.exists():
        problems.append(_("The questionnaire has no questions."))
    return problems


def _audience_defined(campaign: Campaign) -> bool:
    if campaign.audience_kind == AudienceKind.SEGMENTS:
        return bool(campaign.audience_segments)
    if campaign.audience_kind == AudienceKind.PRODUCT:
        return campaign.audience_product_id is not None
    return campaign.audience_contacts.exists()


def _transition(campaign: Campaign, to: str, *, actor: User, reason: str = "") -> Campaign:
    before = campaign.status
    campaign.status = to
    campaign.save(update_fields=["status", "updated_at"])
    audit.record(
        actor=actor,
        action=AuditEntry.Action.TRANSITION,
        obj=campaign,
        changes={"status": [before, to]},
        reason=reason,
    )
    return campaign


@transaction.atomic
def campaign_schedule(*, campaign_id: int, actor: User) -> Campaign:
    """Draft -> scheduled: the beat tick sends it at `next_run_at`, which must be in the
    future; the audience must be defined (contacts chosen, a segment, a product)."""
    require_perm(actor, MANAGE_PERMISSION)
    campaign = _lock(campaign_id, actor)
    campaign.check_transition(Status.SCHEDULED)
    if campaign.next_run_at is None or campaign.next_run_at <= timezone.now():
        raise BusinessRuleViolation(_("Set a next send time in the future before scheduling."))
    problems = send_problems(campaign)
    if problems:
        raise BusinessRuleViolation(" ".join(problems))
    return _transition(campaign, Status.SCHEDULED, actor=actor)


def already_sent_now(campaign: Campaign, *, now: datetime | None = None) -> bool:
    """The campaign left draft to go out now (a second press of the button finds it so)."""
    now = now or timezone.now()
    if campaign.status == Status.SCHEDULED:
        return campaign.next_run_at is not None and campaign.next_run_at <= now
    return campaign.status in (Status.ACTIVE, Status.COMPLETED)


@transaction.atomic
def campaign_send_draft_now(*, campaign_id: int, actor: User) -> tuple[Campaign, bool]:
    """Draft -> scheduled for now, and a tick queued after commit: "Send now" on a ready draft.

    The same readiness rule as scheduling (send_problems). Idempotent: a campaign that
    already left draft to go out now is returned unchanged with False (a double submit
    writes nothing twice); True when this call sent it. Locks the campaign row; one audit
    entry with the status and the send time.
    """
    from apps.surveys.tasks import tick_task

    require_perm(actor, MANAGE_PERMISSION)
    campaign = _lock(campaign_id, actor)
    now = timezone.now()
    if campaign.status != Status.DRAFT and already_sent_now(campaign, now=now):
        return campaign, False
    campaign.check_transition(Status.SCHEDULED)
    problems = send_problems(campaign)
    if problems:
        raise BusinessRuleViolation(" ".join(problems))
    before = (campaign.status, campaign.next_run_at)
    campaign.status = Status.SCHEDULED
    campaign.next_run_at = now
    campaign.save(update_fields=["status", "next_run_at", "updated_at"])
    audit.record(
        actor=actor,
        action=AuditEntry.Action.TRANSITION,
        obj=campaign,
        changes={"status": [before[0], campaign.status], "next_run_at": [before[1], campaign.next_run_at]},
        reason=audit_reason(gettext_lazy("send now")),
    )
    enqueue_on_commit(tick_task)
    return campaign, True


@transaction.atomic
def campaign_unschedule(*, campaign_id: int, actor: User) -> Campaign:
    """Scheduled -> draft: nothing is sent until it is scheduled again."""
    require_perm(actor, MANAGE_PERMISSION)
    campaign = _lock(campaign_id, actor)
    campaign.check_transition(Status.DRAFT)
    return _transition(campaign, Status.DRAFT, actor=actor)


@transaction.atomic
def campaign_cancel(*, campaign_id: int, actor: User, reason: str) -> Campaign:
    """Stop a campaign for good (final): no further waves or reminders. Needs a reason,
    which the audit entry keeps. Invitations already sent stay answerable until their
    wave closes; dispatch checks the status before every send."""
    require_perm(actor, MANAGE_PERMISSION)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the campaign is cancelled.")]})
    campaign = _lock(campaign_id, actor)
    campaign.check_transition(Status.CANCELLED)
    return _transition(campaign, Status.CANCELLED, actor=actor, reason=reason)


# CSV audience ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RowProblem:
    row: int  # as a spreadsheet numbers it: the header is row 1; 0 for the whole file
    message: str


@dataclass
class ImportResult:
    added: int = 0
    already_in: int = 0
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def file_refused(self) -> bool:
        return any(problem.row == 0 for problem in self.problems)


def _refused(message: str) -> ImportResult:
    return ImportResult(problems=[RowProblem(0, message)])


def _read_rows(file) -> tuple[list[tuple[int, str]], ImportResult | None]:
    """(row number, e-mail) for the non-blank data rows, or the result refusing the file."""
    raw = file.read(MAX_IMPORT_BYTES + 1)
    if len(raw) > MAX_IMPORT_BYTES:
        return [], _refused(_("The file is larger than 2 MB; split it into several files."))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], _refused(_("The file is not UTF-8 text. Save it as “CSV UTF-8” and upload it again."))
    if "\x00" in text:
        return [], _refused(_("The file is not a CSV text file."))
    first_line = text.split("\n", 1)[0]
    # Spreadsheets set to a European locale save CSV with semicolons.
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[tuple[int, str]] = []
    try:
        header = [name.strip().lower() for name in next(reader, [])]
        column = next((header.index(name) for name in EMAIL_COLUMNS if name in header), None)
        if column is None:
            return [], _refused(_("The first row must name an “email” column."))
        for number, values in enumerate(reader, start=2):
            if not any(value.strip() for value in values):
                continue
            if len(rows) >= MAX_IMPORT_ROWS:
                return [], _refused(_("The file has more than %d rows; split it into several files.") % MAX_IMPORT_ROWS)
            rows.append((number, values[column].strip() if column < len(values) else ""))
    except csv.Error as error:
        return [], _refused(_("The file is not valid CSV (%s).") % error)
    if not rows:
        return [], _refused(_("The file has no data rows."))
    return rows, None


def match_contacts(rows: list[tuple[int, str]]) -> tuple[dict[int, Contact], list[RowProblem]]:
    """Contacts by row for the rows that name a surveyable contact; a problem for every other row.

    The lookup is `Contact.objects.with_email`'s blind index, batched.
    """
    problems: list[RowProblem] = []
    index_rows: dict[str, list[int]] = {}
    first_row: dict[str, int] = {}
    for number, email in rows:
        if not email or "@" not in email:
            problems.append(RowProblem(number, _("No e-mail address in this row.")))
            continue
        index = blind_index(email)
        if index in first_row:
            problems.append(RowProblem(number, _("Same e-mail as row %d.") % first_row[index]))
            continue
        first_row[index] = number
        index_rows.setdefault(index, []).append(number)
    found: dict[str, Contact] = {}
    indexes = list(index_rows)
    for start in range(0, len(indexes), LOOKUP_BATCH):
        batch = indexes[start : start + LOOKUP_BATCH]
        for contact in Contact.objects.filter(email_index__in=batch).select_related("customer"):
            found[contact.email_index] = contact
    opted_out = set(
        SurveyOptOut.objects.filter(contact__in=[contact.pk for contact in found.values()]).values_list(
            "contact_id", flat=True
        )
    )
    surveyable = set(
        Contact.objects.surveyable()
        .filter(pk__in=[contact.pk for contact in found.values()], is_active=True)
        .values_list("pk", flat=True)
    )
    matched: dict[int, Contact] = {}
    for index, numbers in index_rows.items():
        contact = found.get(index)
        for number in numbers:
            if contact is None:
                problems.append(RowProblem(number, _("No contact has this e-mail address.")))
            elif contact.pk in opted_out:
                problems.append(RowProblem(number, _("This contact opted out of surveys.")))
            elif contact.pk not in surveyable:
                problems.append(
                    RowProblem(number, _("This contact has not agreed to surveys (or is inactive or erased)."))
                )
            else:
                matched[number] = contact
    return matched, sorted(problems, key=lambda problem: problem.row)


@transaction.atomic
def campaign_import_contacts(*, campaign_id: int, actor: User, file) -> ImportResult:
    """Add the contacts named by e-mail in a CSV upload to the campaign's audience, which
    becomes "chosen contacts". Rows naming unknown or non-consenting contacts are reported
    by row number and skipped; the others are added. A file that cannot be read (too big,
    too many rows, no e-mail column) changes nothing. Only before the first wave."""
    require_perm(actor, MANAGE_PERMISSION)
    campaign = _lock(campaign_id, actor)
    if campaign.status in FINAL_STATUSES or not audience_editable(campaign):
        raise BusinessRuleViolation(
            _("The audience and the questionnaire are fixed once the first wave has been sent.")
        )
    rows, refused = _read_rows(file)
    if refused is not None:
        return refused
    matched, problems = match_contacts(rows)
    before = _contact_ids(campaign.audience_contacts.values_list("pk", flat=True))
    if campaign.audience_kind != AudienceKind.CONTACTS:
        before_ids: set[int] = set()
    else:
        before_ids = set(before)
    new_ids = {contact.pk for contact in matched.values()}
    result = ImportResult(added=len(new_ids - before_ids), already_in=len(new_ids & before_ids), problems=problems)
    if not new_ids or (campaign.audience_kind == AudienceKind.CONTACTS and new_ids <= before_ids):
        return result
    after = sorted(before_ids | new_ids)
    fields = audit.snapshot(campaign, ["audience_kind", "audience_segments", "audience_product"])
    campaign.audience_kind = AudienceKind.CONTACTS
    campaign.audience_segments = []
    campaign.audience_product = None
    campaign.save(update_fields=["audience_kind", "audience_segments", "audience_product", "updated_at"])
    campaign.audience_contacts.set(after)
    changes = audit.diff(fields, audit.snapshot(campaign, ["audience_kind", "audience_segments", "audience_product"]))
    changes["audience_contacts"] = [before, after]
    audit.record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        obj=campaign,
        changes=changes,
        reason=audit_reason(
            gettext_lazy("CSV upload: %(added)d contacts added, %(skipped)d rows skipped"),
            added=result.added,
            skipped=len(problems),
        ),
    )
    return result
