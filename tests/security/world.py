"""The demo organisation as the security suites see it: one record of every kind, and the
URL of every page route and API operation filled in with those records' ids."""

from __future__ import annotations

import re

from django.core.files.base import ContentFile
from django.core.management import call_command
from django.urls import URLPattern

from apps.accounts.models import User

WRONG_TOKEN = "not-a-real-token"


def demo_world() -> dict:
    """seed_demo, plus a complaint attachment (the demo's complaints carry no files)."""
    from apps.accounts.roles import Role
    from apps.accounts.services import api_token_issue
    from apps.actions.models import ActionPlanItem, CorrectiveAction
    from apps.audit.models import AuditEntry
    from apps.complaints.models import Complaint, ComplaintAttachment
    from apps.customers.models import Contact, Customer, FollowUpAction, Interaction, Product
    from apps.feedback.models import Feedback
    from apps.objectives.models import KpiKind, QualityObjective
    from apps.requirements.models import CustomerRequirement
    from apps.reviews.models import ManagementReview, ReviewSchedule
    from apps.surveys.models import Campaign, Invitation, Response, SurveyTemplate, Wave
    from apps.surveys.services.responses import is_open_for_answers

    call_command("seed_demo")
    complaint = Complaint.objects.order_by("pk").first()
    attachment = ComplaintAttachment(complaint=complaint, original_name="photo.png", content_type="image/png", size=4)
    attachment.file.save("photo.png", ContentFile(b"\x89PNG"), save=False)
    attachment.save()

    def first(model):
        return model.objects.order_by("pk").first()

    plan_item = first(ActionPlanItem)
    # A quality manager's: an auditor sees it and may not revoke it.
    token_owner = User.objects.with_role(Role.QUALITY_MANAGER).order_by("pk").first()

    return {
        "user": first(User),
        "customer": first(Customer),
        "contact": first(Contact),
        "interaction": first(Interaction),
        "product": first(Product),
        "follow_up": first(FollowUpAction),
        "requirement": first(CustomerRequirement),
        "action": plan_item.action if plan_item else first(CorrectiveAction),
        "plan_item": plan_item,
        "complaint": complaint,
        "attachment": attachment,
        "feedback": first(Feedback),
        "campaign": first(Campaign),
        "template": first(SurveyTemplate),
        "wave": first(Wave),
        "invitation": next(
            (invitation for invitation in Invitation.objects.order_by("pk") if is_open_for_answers(invitation)),
            None,
        ),
        "response": first(Response),
        "objective": QualityObjective.objects.filter(kpi_kind=KpiKind.MANUAL).order_by("pk").first(),
        "review": first(ManagementReview),
        "review_schedule": first(ReviewSchedule),
        "audit_entry": AuditEntry.objects.order_by("seq").first(),
        "api_token": api_token_issue(user=token_owner, name="demo script", actor=token_owner).token,
    }


def _object_for(name: str, world: dict):
    """The demo record a route's <pk> names, by the route's namespace and name."""
    namespace, _sep, route = name.rpartition(":")
    if namespace == "accounts" and route.startswith("token"):
        return world["api_token"]
    by_namespace = {
        "accounts": "user",
        "requirements": "requirement",
        "actions": "action",
        "complaints": "complaint",
        "feedback": "feedback",
        "objectives": "objective",
        "reviews": "review",
        "evidence": "pack",
    }
    if namespace == "reviews" and route.startswith("schedule"):
        return world["review_schedule"]
    if namespace == "customers":
        kind = route.split("_")[0]
        return world[{"follow": "follow_up"}.get(kind, kind)]
    if namespace == "surveys":
        return world["template" if route.startswith("template") else "campaign"]
    return world[by_namespace[namespace]]


def page_kwargs(name: str, pattern: URLPattern, world: dict, *, tokens: dict | None = None) -> dict:
    """URL arguments for a page route; `tokens` maps a token parameter to the customer's own
    token, and any other token is a wrong one (a plain 404)."""
    kwargs = {}
    for key in pattern.pattern.converters:
        if key == "pk":
            kwargs[key] = _object_for(name, world).pk
        elif key == "customer_pk":
            kwargs[key] = world["customer"].pk
        elif key == "item_pk":
            kwargs[key] = world["plan_item"].pk
        elif key == "attachment_id":
            if "pk" in pattern.pattern.converters:
                kwargs["pk"] = world["attachment"].complaint_id
            kwargs[key] = world["attachment"].pk
        elif key in ("number", "version"):
            kwargs[key] = 1
        elif key == "step":
            kwargs[key] = "activate"
        else:
            kwargs[key] = (tokens or {}).get(name, WRONG_TOKEN)
    return kwargs


API_OBJECTS = {
    "users": "user",
    "customers": "customer",
    "contacts": "contact",
    "interactions": "interaction",
    "products": "product",
    "requirements": "requirement",
    "actions": "action",
    "complaints": "complaint",
    "feedback": "feedback",
    "objectives": "objective",
    "reviews": "review",
    "review-schedules": "review_schedule",
    "surveys/templates": "template",
    "surveys/campaigns": "campaign",
    "surveys/waves": "wave",
    "surveys/invitations": "invitation",
    "surveys/responses": "response",
    "audit/entries": "audit_entry",
    "auth/tokens": "api_token",
}


def api_collection(path: str) -> str:
    """ "/api/v1/surveys/campaigns/{id}/results/" -> "surveys/campaigns"."""
    return re.sub(r"^/api/v1/|/\{.*$", "", path).rstrip("/")


def api_url(path: str, world: dict) -> str:
    """An API path from the schema with its parameters filled in with the demo's records."""
    kind = API_OBJECTS.get(api_collection(path))
    values = {
        "id": world[kind].pk if kind else 1,
        "seq": world["audit_entry"].seq,
        "item_id": world["plan_item"].pk,
        "version": 1,
    }
    return re.sub(r"\{(\w+)\}", lambda match: str(values[match.group(1)]), path)
