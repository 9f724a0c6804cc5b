"""Demo records for `manage.py seed_demo` (idempotent: nothing is added once the demo
relationship campaign exists).

- The three ready-made questionnaires, written through the services.
- A survey panel: twelve more consenting contacts at each demo customer (through the
  customers service), so results rest on enough answers to mean something.
- "Customer relationship survey": quarterly, four waves over the past year (the newest
  still open), about 45 % promoters and 20 % detractors, slowly improving, a third of the
  respondents leaving a comment; a few bounced invitations, and reminders. Every low score
  comes with the follow-up feedback the answer page creates (marked to call back).
- "Pallet tracking tag CSAT": a one-off product survey, completed.
- "Post-complaint follow-up": scheduled for next week.

Campaigns are created and scheduled through the services; what dispatch and the public
answer page would have written since (waves, invitations, deliveries, responses, answers)
is written with the ORM in bulk, following each model's rules: the token hash derived from
the nonce, answers repeating the response's campaign, kind and time, free-text answers
encrypted with the response's own key. Nobody is skipped for survey fatigue: no other
campaign of the demo surveyed them, so dispatch would not skip them. The audit trail gets
the entries dispatch and the answer page write (system and public actors), stamped with
the time of seeding.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.utils import timezone

from apps.accounts.roles import Role
from apps.audit import services as audit
from apps.audit.models import AuditEntry
from apps.customers import services as customer_services
from apps.customers.models import Contact, Customer, Product
from apps.feedback.models import Feedback
from apps.surveys.models import (
    Answer,
    Campaign,
    CampaignStatus,
    Delivery,
    Invitation,
    InvitationStatus,
    Question,
    QuestionKind,
    Response,
    SurveyTemplate,
    TemplateVersion,
    Wave,
    WaveStatus,
    new_nonce,
    token_for_nonce,
    token_hash,
)
from apps.surveys.services import campaigns as campaign_services
from apps.surveys.services import templates as template_services
from apps.surveys.services.responses import create_follow_up, low_scores

RELATIONSHIP = "Customer relationship survey"
IMPROVE = ["Delivery times", "Communication", "Invoicing", "Product quality", "Ordering portal"]
MATTERS = ["Reliability", "Price", "Quality", "Personal service"]


def _q(kind, text, *, required=True, help_text="", choices=()) -> dict:
    return {"kind": kind, "text": text, "help_text": help_text, "required": required, "choices": list(choices)}


QUESTIONNAIRES = [
    (
        "Relationship NPS",
        "Twice-yearly or quarterly relationship survey of every consenting contact.",
        "How are we doing?",
        "Two minutes of your time help us serve you better. Your answers go to our quality team.",
        "Thank you! We read every answer and report what we change.",
        [
            _q(QuestionKind.NPS, "How likely are you to recommend us to a colleague or business partner?"),
            _q(QuestionKind.CSAT, "Overall, how satisfied are you with our service?"),
            _q(QuestionKind.SINGLE_CHOICE, "What matters most to you when working with us?", choices=MATTERS),
            _q(
                QuestionKind.MULTIPLE_CHOICE,
                "Where should we improve?",
                required=False,
                help_text="Choose any that apply.",
                choices=IMPROVE,
            ),
            _q(QuestionKind.TEXT, "What is the main reason for your score?", required=False),
        ],
    ),
    (
        "Post-complaint satisfaction",
        "Sent after a complaint is closed (ISO 10002): was it handled well?",
        "How did we handle your complaint?",
        "You recently raised a complaint with us. Please tell us how we handled it.",
        "Thank you. Your feedback helps us improve our complaint handling.",
        [
            _q(QuestionKind.CSAT, "How satisfied are you with how your complaint was handled?"),
            _q(
                QuestionKind.CES,
                "How easy was it to get your complaint resolved?",
                help_text="1 = very hard, 7 = very easy",
            ),
            _q(
                QuestionKind.SINGLE_CHOICE,
                "Was the outcome fair?",
                choices=["Yes", "Partly", "No"],
            ),
            _q(QuestionKind.TEXT, "What could we have done better?", required=False),
        ],
    ),
    (
        "Product CSAT",
        "Satisfaction with one product or service, sent to the customers who use it.",
        "Your opinion on our product",
        "Please rate the product or service you use.",
        "Thank you for helping us improve our products.",
        [
            _q(QuestionKind.CSAT, "How satisfied are you with the product?"),
            _q(QuestionKind.CES, "How easy is the product to use?", help_text="1 = very hard, 7 = very easy"),
            _q(
                QuestionKind.SINGLE_CHOICE,
                "How often do you use it?",
                choices=["Daily", "Weekly", "Monthly", "Rarely"],
            ),
            _q(QuestionKind.TEXT, "What would make it better?", required=False),
        ],
    ),
]

FIRST = ["Anna", "Ben", "Clara", "David", "Eva", "Felix", "Greta", "Hugo", "Ida", "Jan", "Karla", "Lukas"]
LAST = ["Bauer", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Hansen", "Iversen", "Jansen", "Keller"]
PANEL_PER_CUSTOMER = 12

COMMENTS = {
    "promoter": [
        "Deliveries always arrive on time and the drivers are friendly.",
        "Your customer service solves problems quickly.",
        "Reliable partner for years, we recommend you to others.",
        "The new tracking portal saves us a lot of calls.",
        "Very professional team, clear communication.",
    ],
    "passive": [
        "Good service overall, but prices went up noticeably.",
        "Mostly fine; invoices sometimes lack our PO number.",
        "Solid, though lead times could be shorter in peak season.",
        "OK, but it takes long to reach the right person.",
    ],
    "detractor": [
        "Two late deliveries this quarter and nobody told us in advance.",
        "Damaged pallets again; the claim process is slow.",
        "Hard to get a straight answer about our complaint.",
        "Invoices are often wrong and take weeks to correct.",
    ],
}
CSAT_COMMENTS = [
    "The tag battery lasts longer than promised.",
    "Setting up the tags took our team a while.",
    "Temperature alerts saved a shipment last month.",
    "The app crashes sometimes when syncing.",
]


def load(users: dict) -> None:
    """`users` maps each Role to its demo user; the quality manager runs the campaigns."""
    if Campaign.objects.filter(name=RELATIONSHIP).exists():
        return
    manager = users[Role.QUALITY_MANAGER]
    rng = random.Random(9001)  # noqa: S311 - reproducible demo data, not security
    versions = _questionnaires(manager)
    panel = _panel(manager)
    if not panel:
        return
    now = timezone.now()
    _relationship_campaign(manager, versions["Relationship NPS"], panel, now=now, rng=rng)
    _product_campaign(manager, versions["Product CSAT"], panel, now=now, rng=rng)
    _scheduled_campaign(manager, versions["Post-complaint satisfaction"], panel, now=now)


def _questionnaires(manager) -> dict[str, TemplateVersion]:
    versions = {}
    for name, description, title, introduction, thank_you, questions in QUESTIONNAIRES:
        template = SurveyTemplate.objects.filter(name=name).first() or template_services.template_create(
            actor=manager,
            name=name,
            description=description,
            title=title,
            introduction=introduction,
            thank_you=thank_you,
            questions=questions,
        )
        versions[name] = TemplateVersion.objects.filter(template=template).order_by("-number").first()
    return versions


def _domain(customer: Customer) -> str:
    return re.sub(r"[^a-z0-9]+", "-", customer.name.lower()).strip("-") + ".example"


def _panel(manager) -> list[Contact]:
    """Every consenting contact of the demo customers, after adding the survey panel."""
    # Organisations only: a private customer is one person, not a panel.
    customers = list(Customer.objects.active().filter(kind=Customer.Kind.ORGANISATION).order_by("id")[:6])
    for c, customer in enumerate(customers):
        for n in range(PANEL_PER_CUSTOMER):
            first, last = FIRST[(c * 3 + n) % len(FIRST)], LAST[(c + n * 7) % len(LAST)]
            # Twelve different first names per customer, so the addresses never collide.
            email = f"{first}.{last}@{_domain(customer)}".lower()
            if Contact.objects.with_email(email).exists():
                continue
            customer_services.contact_create(
                customer_id=customer.pk,
                actor=manager,
                name=f"{first} {last}",
                email=email,
                job_role=["Buyer", "Logistics Manager", "Quality Manager", "Operations Lead"][n % 4],
                survey_consent=True,
                survey_consent_source=Contact.ConsentSource.CONTRACT,
            )
    return list(
        Contact.objects.surveyable().filter(is_active=True).select_related("customer").order_by("customer_id", "id")
    )


def _transition(campaign: Campaign, to: str) -> None:
    """The status change dispatch makes (system actor), through the campaign's transition map."""
    campaign.check_transition(to)
    before = campaign.status
    campaign.status = to
    campaign.save(update_fields=["status", "updated_at"])
    audit.record(actor=None, action=AuditEntry.Action.TRANSITION, obj=campaign, changes={"status": [before, to]})


def _lock_version(version: TemplateVersion, at: datetime) -> None:
    if version.locked_at is None:
        TemplateVersion.objects.filter(pk=version.pk).unaudited_update(locked_at=at)
        audit.record(actor=None, action=AuditEntry.Action.UPDATE, obj=version, changes={"locked_at": [None, at]})


def _morning(moment: datetime, hour: int = 9) -> datetime:
    """The same day at `hour` o'clock in the organisation's time zone (sends happen in daytime)."""
    local = timezone.localtime(moment)
    return timezone.make_aware(datetime.combine(local.date(), time(hour, 0)))


@dataclass
class WavePlan:
    number: int
    scheduled_for: datetime
    response_rate: float
    detractors: float  # share of NPS 0-6
    promoters: float  # share of NPS 9-10
    open: bool = False
    product: Product | None = None
    contacts: list[Contact] = field(default_factory=list)


def _relationship_campaign(manager, version, panel, *, now, rng) -> None:
    start = now - timedelta(days=280)
    # On a Tuesday, so every quarterly wave (13 weeks apart) goes out on a working day.
    first_send = _morning(start - timedelta(days=(timezone.localtime(start).weekday() - 1) % 7))
    campaign = campaign_services.campaign_create(
        actor=manager,
        name=RELATIONSHIP,
        description="Quarterly relationship NPS of every consenting contact (ISO 9001 9.1.2).",
        template_version=version,
        audience_kind=Campaign.AudienceKind.SEGMENTS,
        audience_segments=sorted({contact.customer.segment for contact in panel if contact.customer.segment}),
        recurrence=Campaign.Recurrence.QUARTERLY,
        next_run_at=now + timedelta(days=1),
        reminder_interval_days=5,
        max_reminders=2,
        close_after_days=21,
        fatigue_days=30,
    )
    campaign = campaign_services.campaign_schedule(campaign_id=campaign.pk, actor=manager)
    _transition(campaign, CampaignStatus.ACTIVE)
    plans = [
        WavePlan(1, first_send, 0.64, 0.26, 0.40),
        WavePlan(2, first_send + timedelta(days=91), 0.60, 0.22, 0.43),
        WavePlan(3, first_send + timedelta(days=182), 0.63, 0.18, 0.47),
        WavePlan(4, first_send + timedelta(days=273), 0.52, 0.16, 0.50, open=True),
    ]
    for plan in plans:
        plan.contacts = panel
        _wave(campaign, version, plan, now=now, rng=rng)
    _lock_version(version, first_send)
    next_run = _morning(plans[-1].scheduled_for + timedelta(days=91))
    Campaign.objects.filter(pk=campaign.pk).unaudited_update(
        created_at=first_send - timedelta(days=14), last_wave_number=len(plans), next_run_at=next_run
    )
    audit.record(
        actor=None,
        action=AuditEntry.Action.UPDATE,
        obj=campaign,
        changes={"next_run_at": [campaign.next_run_at, next_run], "last_wave_number": [0, len(plans)]},
    )


def _product_campaign(manager, version, panel, *, now, rng) -> None:
    product = Product.objects.filter(code="PAL-TRK").first() or Product.objects.order_by("id").first()
    if product is None:
        return
    sent = _morning(now - timedelta(days=130), hour=10)
    campaign = campaign_services.campaign_create(
        actor=manager,
        name=f"{product.name} CSAT",
        description="One-off satisfaction survey of the customers using the product.",
        template_version=version,
        audience_kind=Campaign.AudienceKind.PRODUCT,
        audience_product=product,
        recurrence=Campaign.Recurrence.ONCE,
        next_run_at=now + timedelta(days=1),
        close_after_days=14,
    )
    campaign = campaign_services.campaign_schedule(campaign_id=campaign.pk, actor=manager)
    _transition(campaign, CampaignStatus.ACTIVE)
    users = sorted({contact.customer for contact in panel}, key=lambda customer: customer.pk)[:3]
    plan = WavePlan(1, sent, 0.55, 0.0, 0.0, product=product)
    plan.contacts = [contact for contact in panel if contact.customer in users]
    _wave(campaign, version, plan, now=now, rng=rng)
    _lock_version(version, sent)
    _transition(campaign, CampaignStatus.COMPLETED)
    Campaign.objects.filter(pk=campaign.pk).unaudited_update(
        created_at=sent - timedelta(days=7), last_wave_number=1, next_run_at=None
    )


def _scheduled_campaign(manager, version, panel, *, now) -> None:
    local = timezone.localtime(now)
    next_monday = _morning(now + timedelta(days=7 - local.weekday()), hour=10)
    campaign = campaign_services.campaign_create(
        actor=manager,
        name="Post-complaint follow-up",
        description="Contacts whose complaints were closed last quarter.",
        template_version=version,
        audience_kind=Campaign.AudienceKind.CONTACTS,
        audience_contacts=panel[:12],
        recurrence=Campaign.Recurrence.ONCE,
        next_run_at=next_monday,
        close_after_days=14,
    )
    campaign_services.campaign_schedule(campaign_id=campaign.pk, actor=manager)


def _nps(rng: random.Random, plan: WavePlan) -> int:
    draw = rng.random()
    if draw < plan.detractors:
        return rng.choice([2, 3, 4, 5, 5, 6, 6, 6])
    if draw < plan.detractors + plan.promoters:
        return rng.choice([9, 9, 10])
    return rng.choice([7, 8, 8])


def _wave(campaign: Campaign, version: TemplateVersion, plan: WavePlan, *, now, rng) -> None:
    """One past (or still open) run: the wave, its invitations, deliveries, responses and answers."""
    scheduled = plan.scheduled_for
    closes = scheduled + timedelta(days=campaign.close_after_days)
    wave = Wave.objects.create(
        campaign=campaign,
        number=plan.number,
        scheduled_for=scheduled,
        status=WaveStatus.OPEN if plan.open else WaveStatus.CLOSED,
        invitations_created_at=scheduled,
        sent_at=scheduled + timedelta(minutes=20),
        closes_at=closes,
        closed_at=None if plan.open else closes,
    )
    audit.record(
        actor=None,
        action=AuditEntry.Action.CREATE,
        obj=wave,
        changes={"number": [None, wave.number], "scheduled_for": [None, scheduled], "status": [None, wave.status]},
    )
    questions = list(Question.objects.filter(version=version).order_by("position"))
    invitations, deliveries = [], []
    for n, contact in enumerate(plan.contacts):
        nonce = new_nonce()
        sent_at = scheduled + timedelta(seconds=6 * n)
        # A few bounce.
        status = InvitationStatus.FAILED if n % 29 == 7 else None
        invitation = Invitation(
            wave=wave,
            campaign=campaign,
            contact=contact,
            customer=contact.customer,
            product=plan.product,
            nonce=nonce,
            token_hash=token_hash(token_for_nonce(nonce)),
            status=status or InvitationStatus.SENT,
            attempts=1,
            sent_at=None if status else sent_at,
        )
        invitations.append(invitation)
    Invitation.objects.bulk_create(invitations)
    # created_at is auto_now_add; the demo back-dates it to the wave (Invitation is not audited).
    Invitation.objects.filter(wave=wave).update(created_at=scheduled)

    responses, answers_for = [], {}
    interval = timedelta(days=campaign.reminder_interval_days)
    for invitation in invitations:
        if invitation.status == InvitationStatus.FAILED:
            deliveries.append(
                Delivery(invitation=invitation, outcome="failed", detail="550 5.1.1 mailbox unavailable", at=scheduled)
            )
            continue
        deliveries.append(Delivery(invitation=invitation, outcome="sent", at=invitation.sent_at))
        # Most people answer within a day or two of an e-mail; a long tail after reminders.
        answers_after = timedelta(hours=min(2 + rng.expovariate(1 / 40), 24 * 14))
        responds = rng.random() < plan.response_rate
        reminders = 0
        for sequence in range(1, campaign.max_reminders + 1):
            reminder_at = invitation.sent_at + interval * sequence
            if reminder_at > now or (responds and invitation.sent_at + answers_after <= reminder_at):
                break
            reminders = sequence
            deliveries.append(Delivery(invitation=invitation, sequence=sequence, outcome="sent", at=reminder_at))
        invitation.reminders_sent = reminders
        invitation.last_reminded_at = invitation.sent_at + interval * reminders if reminders else None
        submitted = invitation.sent_at + answers_after
        if responds and submitted < min(now, wave.closes_at):
            invitation.responded_at = submitted
            response = Response(
                invitation=invitation,
                campaign=campaign,
                wave=wave,
                customer=invitation.customer,
                product=invitation.product,
                submitted_at=submitted,
            )
            answers_for[invitation.pk] = _answers(questions, plan, rng, response)
            response.follow_up = _follow_up(invitation, answers_for[invitation.pk], questions)
            responses.append(response)
        elif plan.open and reminders < campaign.max_reminders:
            invitation.next_reminder_at = max(invitation.sent_at + interval * (reminders + 1), now + timedelta(hours=2))
    Invitation.objects.bulk_update(
        invitations, ["reminders_sent", "last_reminded_at", "next_reminder_at", "responded_at"], batch_size=500
    )
    Delivery.objects.bulk_create(deliveries)
    Response.objects.bulk_create(responses)
    answers = []
    for response in responses:
        for question, score, chosen in answers_for[response.invitation_id]:
            answers.append(
                Answer(
                    response=response,
                    question=question,
                    campaign=campaign,
                    kind=question.kind,
                    submitted_at=response.submitted_at,
                    score=score,
                    choices=chosen,
                )
            )
    Answer.objects.bulk_create(answers, batch_size=1000)
    for response in responses:
        # What the public answer page writes for each response (the public as actor).
        scores = {
            str(question.pk): score
            for question, score, _chosen in answers_for[response.invitation_id]
            if score is not None
        }
        changes = {
            "invitation": [None, response.invitation_id],
            "campaign": [None, campaign.pk],
            "wave": [None, wave.pk],
            "scores": [None, scores],
        }
        if response.comments_ct:
            changes["comments_ct"] = [None, "set"]
        if response.follow_up is not None:
            changes["follow_up"] = [None, response.follow_up.pk]
        audit.record(actor=AuditEntry.ActorKind.PUBLIC, action=AuditEntry.Action.CREATE, obj=response, changes=changes)


def _follow_up(invitation: Invitation, answers: list[tuple], questions: list[Question]) -> Feedback | None:
    """The follow-up feedback the answer page creates for a low score (through the same
    service), back-dated to the answer like the rest of the demo."""
    scores = {question.pk: score for question, score, _chosen in answers if score is not None}
    lows = low_scores(questions, scores)
    if not lows:
        return None
    follow_up = create_follow_up(invitation, lows)
    # Timestamps only (no audited field changes): the audit entry keeps the real time of writing.
    Feedback.objects.filter(pk=follow_up.pk).unaudited_update(created_at=invitation.responded_at)
    return follow_up


def _answers(questions: list[Question], plan: WavePlan, rng: random.Random, response: Response) -> list[tuple]:
    """(question, score, choices) for the scored and chosen answers; sets the response's encrypted comment."""
    result = []
    mood = "passive"
    texts = {}
    for question in questions:
        if question.kind == QuestionKind.NPS:
            score = _nps(rng, plan)
            mood = "promoter" if score >= 9 else "detractor" if score <= 6 else "passive"
            result.append((question, score, []))
        elif question.kind == QuestionKind.CSAT:
            base = {"promoter": [4, 5, 5], "passive": [3, 4, 4], "detractor": [1, 2, 2, 3]}[mood]
            if plan.product is not None:
                base = [2, 3, 4, 4, 4, 5, 5, 5]
            result.append((question, rng.choice(base), []))
        elif question.kind == QuestionKind.CES:
            result.append((question, rng.choice([3, 4, 5, 5, 6, 6, 7]), []))
        elif question.kind == QuestionKind.SINGLE_CHOICE:
            result.append((question, None, [rng.choice(question.choices)]))
        elif question.kind == QuestionKind.MULTIPLE_CHOICE:
            if mood == "promoter" and rng.random() < 0.5:
                continue
            picked = set(rng.sample(question.choices, rng.randint(1, 2)))
            result.append((question, None, [choice for choice in question.choices if choice in picked]))
        elif question.kind == QuestionKind.TEXT and rng.random() < 1 / 3:
            pool = CSAT_COMMENTS if plan.product is not None else COMMENTS[mood]
            texts[str(question.pk)] = rng.choice(pool)
    response.comments_json = json.dumps(texts, ensure_ascii=False) if texts else ""
    return result
