"""Hostile input on every API operation, for every role: never a server error, every error a
JSON 4xx (#10), every response as the schema documents it (#24). Schemathesis generates valid and
invalid requests from the OpenAPI schema and sends them in-process to the portal's WSGI
application, past the test client: the responses go through the suite's schema check here."""

from __future__ import annotations

import copy
from urllib.parse import unquote, urlsplit

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.generation import GenerationMode

from apps.accounts.services import api_token_issue
from tests.api_schema import api_schema as published_schema

EXAMPLES_PER_OPERATION = 4


@pytest.fixture
def in_test_transaction():
    """Keep requests on the test's connection, as Django's test client does: the WSGI handler
    would otherwise close it at the start and end of every request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(scope="module")
def api_schema():
    schema = schemathesis.openapi.from_dict(copy.deepcopy(published_schema().spec))
    schema.app = get_wsgi_application()
    return schema


def _problem(response) -> str:
    if response.status_code >= 500:
        return f"{response.status_code} server error"
    if response.status_code >= 400:
        try:
            body = response.json()
        except ValueError:
            return f"{response.status_code} without a JSON body"
        if not isinstance(body, dict) or "error" not in body:
            return f"{response.status_code} JSON without an error object"
    problems = published_schema().problems(
        method=response.request.method,
        path=unquote(urlsplit(response.request.url).path),
        status=response.status_code,
        content_type=(response.headers.get("content-type") or [""])[0],
        body=response.content,
    )
    return f"{response.status_code} breaks the schema: " + "; ".join(problems) if problems else ""


@pytest.mark.parametrize("persona", ["anonymous", "staff", "quality_manager", "auditor"])
def test_no_generated_request_gets_a_server_error_or_a_non_json_error(
    api_schema, in_test_transaction, personas, persona
):
    headers = {}
    if persona != "anonymous":
        user = personas[persona]
        headers["Authorization"] = f"Bearer {api_token_issue(user=user, actor=user).secret}"
    problems: dict[str, str] = {}
    for result in api_schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @hypothesis_settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def send(case):
                # A savepoint per request, as each request is its own transaction in production:
                # one request's database error must not abort the ones after it.
                with transaction.atomic():
                    response = case.call(headers=headers)
                    transaction.set_rollback(True)
                problem = _problem(response)
                if problem:
                    key = f"{case.method} {case.operation.path}"
                    problems.setdefault(key, f"{problem}: {case.as_curl_command()[:300]}")

            send()
    assert problems == {}, "\n".join(f"{k}: {v}" for k, v in sorted(problems.items()))
