"""Observing who gets what: one request per route, persona and method, reduced to an outcome.

The outcomes a matrix declares:
    allow   served (2xx, a redirect other than to the login page, or a 4xx about the input)
    login   sent to sign in (a redirect to the login page, or 401 from the API)
    deny    403
    absent  404: the record or token is not theirs to know about
    method  405: the route does not take this method
"""

from __future__ import annotations

from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from apps.complaints.models import token_hash
from apps.evidence import services as evidence
from tests.security.routes import page_patterns
from tests.security.world import api_url, page_kwargs

# The order matters: personas who should be refused go first, so that a write one of them
# wrongly got through shows up as theirs and not as a changed record under the next persona.
PERSONAS = ["anonymous", "customer", "auditor", "other_staff", "staff", "quality_manager"]
OWN_COMPLAINT_TOKEN = "the-customers-own-complaint-token"


def outcome(response) -> str:
    status = response.status_code
    if response.streaming:
        b"".join(response.streaming_content)
    if status >= 500:
        return f"error {status}"
    if status in (301, 302, 303) and response["Location"].startswith(reverse(settings.LOGIN_URL)):
        return "login"
    return {401: "login", 403: "deny", 404: "absent", 405: "method"}.get(status, "allow")


def make_personal(world: dict, personas: dict) -> dict:
    """Give the demo's records to `staff` (so `other_staff` is the colleague they are not
    assigned to) and the customer a token of their own; returns the customer's tokens by route."""
    staff = personas["staff"]
    world["complaint"].token_hash = token_hash(OWN_COMPLAINT_TOKEN)
    changes = {
        "complaint": {"assignee": staff},
        "action": {"owner": staff},
        "plan_item": {"owner": staff},
        "requirement": {"owner": staff, "created_by": staff},
        "feedback": {"owner": staff},
        "follow_up": {"owner": staff},
        "campaign": {"owner": staff},
        "api_token": {"user": staff},
    }
    for kind, fields in changes.items():
        record = world[kind]
        for field, value in fields.items():
            setattr(record, field, value)
        record.save()
    today = timezone.localdate()
    pack = evidence.pack_request(
        actor=personas["auditor"], clauses=["9.1.2"], period_start=today, period_end=today, enqueue=False
    )
    world["pack"] = evidence.pack_build(pack_id=pack.pk)
    invitation_token = world["invitation"].token
    return {
        "complaints:track": OWN_COMPLAINT_TOKEN,
        "complaints:track_attachment": OWN_COMPLAINT_TOKEN,
        "surveys_public:answer": invitation_token,
        "surveys_public:thanks": invitation_token,
        "surveys_public:opt_out": invitation_token,
    }


class Visitor:
    """A persona's browser: signed in again whenever a route signed them out."""

    def __init__(self, user, *, api: bool = False):
        self.user = user
        self.client = APIClient() if api else Client(raise_request_exception=False)
        self.api = api
        self.sign_in()

    def sign_in(self) -> None:
        if self.user is None:
            return
        if self.api:
            self.client.force_authenticate(self.user)
        else:
            self.client.force_login(self.user)

    def request(self, method: str, url: str, data=None) -> str:
        send = getattr(self.client, method.lower())
        response = send(url, data or {}, format="json") if self.api else send(url, data or {})
        result = outcome(response)
        if not self.api and url == reverse("accounts:logout"):
            self.sign_in()
        return result


def observe_pages(world: dict, personas: dict, methods=("GET", "POST")) -> dict[tuple[str, str, str], str]:
    """(route name, method, persona) -> outcome, for every page route."""
    tokens = make_personal(world, personas)
    observed = {}
    for persona in PERSONAS:
        visitor = Visitor(personas.get(persona))
        for name, pattern in page_patterns():
            mine = tokens if persona == "customer" else None
            url = reverse(name, kwargs=page_kwargs(name, pattern, world, tokens=mine))
            for method in methods:
                observed[(name, method, persona)] = visitor.request(method, url)
    return observed


def api_operations() -> list[tuple[str, str]]:
    """(method, path) of every operation in the OpenAPI schema."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [(method.upper(), path) for path, operations in schema["paths"].items() for method in operations]


def observe_api(world: dict, personas: dict) -> dict[tuple[str, str, str], str]:
    """(path, method, persona) -> outcome, for every operation of the API, sent with an empty body."""
    make_personal(world, personas)
    observed = {}
    for persona in PERSONAS:
        visitor = Visitor(personas.get(persona), api=True)
        for method, path in api_operations():
            observed[(path, method, persona)] = visitor.request(method, api_url(path, world))
    return observed
