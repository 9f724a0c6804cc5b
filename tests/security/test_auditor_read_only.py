"""An auditor sees everything and changes nothing (ISO 9001 7.5, 9.2).

Walks every URL pattern of the portal and every operation of the API schema as an auditor,
on the demo organisation: pages answer without a server error and render no form that
writes; every write is refused with 403 or 405, and no domain record changes. Only what an
auditor's own job needs is allowed: signing out, their password, evidence packs and
integrity checks, and the public forms anyone may use.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.apps import apps
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, resolve, reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from apps.accounts.models import User
from tests.security.routes import page_patterns

# Writes an auditor may make: their own session and password, and their audit work.
AUDITOR_WRITES = {
    "accounts:logout",
    "accounts:password_change",
    "evidence:pack_list",
    "evidence:integrity",
}
# Pages for the public, without an account: anyone may post them, and they never touch
# existing records (a new complaint or feedback, an answer to one's own survey link).
PUBLIC = {
    "accounts:login",
    "accounts:password_reset",
    "accounts:password_reset_confirm",
    "complaints:public_new",
    "complaints:track",
    "feedback:submit",
    "surveys_public:answer",
    "surveys_public:opt_out",
}
# Tables an auditor's requests may add to: sessions, the trail of what they did, their packs.
BOOKKEEPING = {
    "sessions.session",
    "audit.auditentry",
    "evidence.evidencepack",
    "evidence.integritycheck",
    "core.outboundemail",
    "axes.accessattempt",
    "axes.accesslog",
    "axes.accessfailurelog",
}
DOMAIN_APPS = {
    "accounts",
    "customers",
    "requirements",
    "actions",
    "complaints",
    "feedback",
    "surveys",
    "objectives",
    "reviews",
    "analytics",
    "evidence",
    "core",
    "audit",
}


@pytest.fixture
def world(db, settings, tmp_path):
    """The demo organisation: one record of every kind, as a quality department would have."""
    settings.MEDIA_ROOT = str(tmp_path)
    call_command("seed_demo")
    _attach_a_photo()
    from apps.actions.models import ActionPlanItem, CorrectiveAction
    from apps.complaints.models import Complaint, ComplaintAttachment
    from apps.customers.models import Contact, Customer, FollowUpAction, Product
    from apps.feedback.models import Feedback
    from apps.objectives.models import QualityObjective
    from apps.requirements.models import CustomerRequirement
    from apps.reviews.models import ManagementReview, ReviewSchedule
    from apps.surveys.models import Campaign, SurveyTemplate

    objects = {
        "user": User.objects.order_by("pk").first(),
        "customer": Customer.objects.order_by("pk").first(),
        "contact": Contact.objects.order_by("pk").first(),
        "product": Product.objects.order_by("pk").first(),
        "follow_up": FollowUpAction.objects.order_by("pk").first(),
        "requirement": CustomerRequirement.objects.order_by("pk").first(),
        "action": CorrectiveAction.objects.order_by("pk").first(),
        "plan_item": ActionPlanItem.objects.order_by("pk").first(),
        "complaint": Complaint.objects.order_by("pk").first(),
        "attachment": ComplaintAttachment.objects.order_by("pk").first(),
        "feedback": Feedback.objects.order_by("pk").first(),
        "campaign": Campaign.objects.order_by("pk").first(),
        "template": SurveyTemplate.objects.order_by("pk").first(),
    }
    objects["objective"] = QualityObjective.objects.order_by("pk").first()
    objects["review"] = ManagementReview.objects.order_by("pk").first()
    objects["review_schedule"] = ReviewSchedule.objects.order_by("pk").first()
    return objects


def _attach_a_photo() -> None:
    """The demo's complaints carry no files; the attachment route needs one."""
    from django.core.files.base import ContentFile

    from apps.complaints.models import Complaint, ComplaintAttachment

    complaint = Complaint.objects.order_by("pk").first()
    attachment = ComplaintAttachment(complaint=complaint, original_name="photo.png", content_type="image/png", size=4)
    attachment.file.save("photo.png", ContentFile(b"\x89PNG"), save=False)
    attachment.save()


def _object_for(name: str, world: dict):
    """The demo record a route's <pk> names, by the route's namespace and name."""
    namespace, _sep, route = name.rpartition(":")
    by_route = {
        "accounts": "user",
        "requirements": "requirement",
        "actions": "action",
        "complaints": "complaint",
        "feedback": "feedback",
        "objectives": "objective",
        "reviews": "review",
    }
    if namespace == "reviews" and route.startswith("schedule"):
        return world["review_schedule"]
    if namespace == "customers":
        kind = route.split("_")[0]
        return world[{"follow": "follow_up"}.get(kind, kind)]
    if namespace == "surveys":
        return world["template" if route.startswith("template") else "campaign"]
    return world[by_route[namespace]]


def _kwargs(name: str, pattern: URLPattern, world: dict) -> dict:
    kwargs = {}
    for key in pattern.pattern.converters:
        if key == "pk":
            kwargs[key] = _object_for(name, world).pk
        elif key == "customer_pk":
            kwargs[key] = world["customer"].pk
        elif key == "item_pk":
            kwargs[key] = world["plan_item"].pk
        elif key == "attachment_id":
            kwargs["pk"] = world["attachment"].complaint_id
            kwargs[key] = world["attachment"].pk
        elif key in ("number", "version"):
            kwargs[key] = 1
        elif key == "step":
            kwargs[key] = "activate"
        else:  # tokens of public links: a wrong one is a plain 404
            kwargs[key] = "not-a-real-token"
    return kwargs


def _urls(world) -> list[tuple[str, str]]:
    urls = []
    for name, pattern in page_patterns():
        if name == "evidence:pack_download":
            continue  # only the requester's own pack: tests/evidence covers it
        urls.append((name, reverse(name, kwargs=_kwargs(name, pattern, world))))
    return urls


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.posts: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "form" and (values.get("method") or "get").lower() == "post":
            self.posts.append(values.get("action") or "")


def _counts() -> dict[str, int]:
    return {
        model._meta.label_lower: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.app_label in DOMAIN_APPS and model._meta.label_lower not in BOOKKEEPING
    }


def test_the_demo_organisation_has_a_record_of_every_kind_the_walk_needs(world):
    assert [kind for kind, record in world.items() if record is None] == []


@pytest.fixture
def auditor_client(world):
    auditor = User.objects.get(email="auditor@example.com")
    client = Client(raise_request_exception=False)
    client.force_login(auditor)
    return client


@pytest.mark.django_db
def test_every_page_answers_an_auditor_without_a_form_that_writes(world, auditor_client):
    problems = []
    for name, url in _urls(world):
        response = auditor_client.get(url)
        if response.status_code >= 500:
            problems.append(f"{name} {url}: {response.status_code}")
            continue
        if response.streaming:
            b"".join(response.streaming_content)  # read to the end, which closes the file
            continue
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        forms = _Forms()
        forms.feed(response.content.decode())
        for action in forms.posts:
            target = resolve((action or url).split("?")[0])
            target_name = f"{target.namespace}:{target.url_name}" if target.namespace else target.url_name
            if target_name not in AUDITOR_WRITES | PUBLIC:
                problems.append(f"{name} {url}: renders a form posting to {target_name}")
    assert problems == [], "\n".join(problems)


@pytest.mark.django_db
def test_every_write_is_refused_to_an_auditor_and_nothing_changes(world, auditor_client):
    before = _counts()
    problems = []
    for name, url in _urls(world):
        if name in AUDITOR_WRITES or name in PUBLIC:
            continue
        response = auditor_client.post(url, {"reason": "auditor was here", "status": "closed"})
        if response.status_code not in (403, 405):
            problems.append(f"{name} {url}: POST answered {response.status_code}")
    assert problems == [], "\n".join(problems)
    assert _counts() == before


def _api_operations():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, operations in schema["paths"].items():
        for method in operations:
            yield path, method.upper()


API_OBJECTS = {
    "users": "user",
    "customers": "customer",
    "contacts": "contact",
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
}


@pytest.mark.django_db
def test_every_api_write_is_refused_to_an_auditor(world):
    client = APIClient()
    client.force_authenticate(User.objects.get(email="auditor@example.com"))
    before = _counts()
    problems = []
    for path, method in _api_operations():
        if method in ("GET", "HEAD", "OPTIONS") or path.endswith("/auth/token/"):
            continue
        collection = re.sub(r"^/api/v1/|/\{.*$", "", path).rstrip("/")
        kind = API_OBJECTS.get(collection)
        url = path
        for parameter in re.findall(r"\{(\w+)\}", path):
            value = world[kind].pk if kind and parameter in ("id", "pk") else 1
            url = url.replace("{" + parameter + "}", str(value))
        response = getattr(client, method.lower())(url, {"reason": "auditor was here"}, format="json")
        if response.status_code not in (403, 405):
            problems.append(f"{method} {path}: {response.status_code}")
    assert problems == [], "\n".join(problems)
    assert _counts() == before
