"""An auditor sees everything and changes nothing (ISO 9001 7.5, 9.2).

Walks every URL pattern of the portal and every operation of the API schema as an auditor,
on the demo organisation: pages answer without a server error and render no form that
writes; every write is refused with 403 or 405, and no domain record changes. Only what an
auditor's own job needs is allowed: signing out, their password, evidence packs and
integrity checks, and the public forms anyone may use.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.apps import apps
from django.test import Client
from django.urls import resolve, reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from apps.accounts.models import User
from tests.security.routes import page_patterns
from tests.security.world import api_url, page_kwargs

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


def _urls(world) -> list[tuple[str, str]]:
    urls = []
    for name, pattern in page_patterns():
        if name == "evidence:pack_download":
            continue  # only the requester's own pack: tests/evidence covers it
        urls.append((name, reverse(name, kwargs=page_kwargs(name, pattern, world))))
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


@pytest.mark.django_db
def test_every_api_write_is_refused_to_an_auditor(world):
    client = APIClient()
    client.force_authenticate(User.objects.get(email="auditor@example.com"))
    before = _counts()
    problems = []
    for path, method in _api_operations():
        if method in ("GET", "HEAD", "OPTIONS") or path.endswith("/auth/token/"):
            continue
        response = getattr(client, method.lower())(api_url(path, world), {"reason": "auditor was here"}, format="json")
        if response.status_code not in (403, 405):
            problems.append(f"{method} {path}: {response.status_code}")
    assert problems == [], "\n".join(problems)
    assert _counts() == before
