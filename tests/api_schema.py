"""Every API response a test receives must match the OpenAPI schema the API publishes (#24).

tests/conftest.py wraps django.test.Client.request (DRF's APIClient goes through it too) for every
test: a response to /api/… is looked up in the schema by method and path, its status must be
documented (exactly, or as 4XX/5XX) and its JSON body must validate against that response's
schema. A drift fails the test that made the request, naming the request, the status and the JSON
pointer of each wrong value. The schema is generated once per test process, as /api/schema/ serves
it, and each response schema is compiled once (jsonschema_rs, Draft 2020-12: OpenAPI 3.1's
dialect). Requests that never pass through the test client (schemathesis in
tests/security/test_api_fuzz.py) call `problems()` themselves.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

import jsonschema_rs
import pytest

# The schema and its viewers describe the API; they are not part of it.
UNCHECKED_PREFIXES = ("/api/schema/", "/api/docs/")
ERROR_POINTER = "#/components/schemas/Error"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
DOCUMENT_URI = "urn:qms-portal:openapi"
MAX_ERRORS_SHOWN = 10


def _escape(token: str) -> str:
    """A JSON pointer token inside a URI fragment: `{id}` must be percent-encoded too."""
    return quote(token.replace("~", "~0").replace("/", "~1"), safe="~")


def _template_regex(template: str) -> str:
    """/api/v1/complaints/{id}/ → ^/api/v1/complaints/[^/]+/$"""
    return "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"


@dataclass(frozen=True)
class Operation:
    path: str
    method: str
    responses: dict


class ApiSchema:
    """The published schema, with its operations found by request path and its response schemas
    compiled on first use."""

    def __init__(self, spec: dict):
        self.spec = spec
        self._validators: dict[str, jsonschema_rs.Validator] = {}
        # Parsed once: each validator then compiles only its response schema (0.1 ms, where one
        # that carried the whole document took 20 ms).
        document = {key: value for key, value in spec.items() if key in ("components", "paths")}
        self._registry = jsonschema_rs.Registry([(DOCUMENT_URI, {"$schema": JSON_SCHEMA_DIALECT, **document})])
        templates = sorted(spec["paths"], key=lambda path: (path.count("{"), path))
        # Literal paths first, so /complaints/stats/ never matches /complaints/{id}/.
        self._paths = [(re.compile(_template_regex(path)), path) for path in templates]

    def operation(self, method: str, path: str) -> Operation | None:
        method = "get" if method.lower() == "head" else method.lower()
        for pattern, template in self._paths:
            if pattern.match(path):
                operation = self.spec["paths"][template].get(method)
                if operation is None:
                    return None
                return Operation(path=template, method=method, responses=operation["responses"])
        return None

    def validator(self, pointer: str) -> jsonschema_rs.Validator:
        """A validator for the schema at `pointer` in the document, with every `#/components/…`
        reference inside it resolving against the document itself."""
        if pointer not in self._validators:
            self._validators[pointer] = jsonschema_rs.validator_for(
                {"$schema": JSON_SCHEMA_DIALECT, "$ref": DOCUMENT_URI + pointer},
                registry=self._registry,
                validate_formats=True,
            )
        return self._validators[pointer]

    def problems(self, *, method: str, path: str, status: int, content_type: str, body: bytes | None) -> list[str]:
        """What is wrong with this response according to the schema; [] when it conforms.
        `body` None means a streamed body, which is not read (the test may still read it)."""
        if path.startswith(UNCHECKED_PREFIXES) or method.upper() == "OPTIONS":
            return []
        operation = self.operation(method, path)
        if operation is None:
            if status < 400:
                # Django's slash-appending redirect happens before any API view.
                return [] if 300 <= status < 400 else [f"{status} from an operation the schema does not document"]
            return self._body_problems(ERROR_POINTER, content_type, body)
        key = next((k for k in (str(status), f"{str(status)[0]}XX", "default") if k in operation.responses), None)
        if key is None:
            documented = ", ".join(operation.responses)
            return [f"status {status} is not documented for {operation.method.upper()} {operation.path} ({documented})"]
        content = operation.responses[key].get("content") or {}
        if not content:
            if body:
                return [f"the schema documents no body for {status}, the response has {len(body)} bytes"]
            return []
        media_type = content_type.split(";")[0].strip()
        if media_type not in content:
            return [f"Content-Type {media_type or '(none)'} is not documented ({', '.join(content)})"]
        if media_type != "application/json" or method.upper() == "HEAD":
            return []
        pointer = "#/" + "/".join(
            _escape(token)
            for token in ("paths", operation.path, operation.method, "responses", key, "content", media_type, "schema")
        )
        return self._body_problems(pointer, content_type, body)

    def _body_problems(self, pointer: str, content_type: str, body: bytes | None) -> list[str]:
        if body is None:
            return ["a streamed body where the schema documents JSON"]
        if not content_type.startswith("application/json"):
            return [f"Content-Type {content_type or '(none)'} where the schema documents application/json"]
        try:
            instance = json.loads(body)
        except ValueError:
            return ["the body is not JSON"]
        errors = list(self.validator(pointer).iter_errors(instance))
        shown = [
            f"{'/' + '/'.join(map(str, error.instance_path)) if error.instance_path else '(root)'}: {error.message}"
            for error in errors[:MAX_ERRORS_SHOWN]
        ]
        if len(errors) > MAX_ERRORS_SHOWN:
            shown.append(f"… and {len(errors) - MAX_ERRORS_SHOWN} more")
        return [*shown, f"(schema: {unquote(pointer)})"] if shown else []


@functools.cache
def api_schema() -> ApiSchema:
    """The schema exactly as GET /api/schema/ serves it (JSON: lazy translations rendered)."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    spec = SchemaGenerator().get_schema(request=None, public=True)
    return ApiSchema(json.loads(OpenApiJsonRenderer().render(spec)))


def response_problems(response) -> list[str]:
    """The schema's verdict on a django.test.Client response."""
    request = response.request
    body = None if getattr(response, "streaming", False) else response.content
    return api_schema().problems(
        method=request["REQUEST_METHOD"],
        path=request["PATH_INFO"],
        status=response.status_code,
        content_type=response.get("Content-Type", ""),
        body=body,
    )


def assert_matches_schema(response) -> None:
    request = response.request
    if not request["PATH_INFO"].startswith("/api/"):
        return
    problems = response_problems(response)
    if problems:
        pytest.fail(
            f"{request['REQUEST_METHOD']} {request['PATH_INFO']} answered {response.status_code}, which breaks "
            "the API's own schema (tests/api_schema.py):\n  " + "\n  ".join(problems)
        )


def check_client_responses(monkeypatch) -> None:
    """Install the check on django.test.Client (and so on DRF's APIClient) for one test."""
    from django.test import Client

    original = Client.request

    @functools.wraps(original)
    def request(self, **kwargs):
        response = original(self, **kwargs)
        assert_matches_schema(response)
        return response

    monkeypatch.setattr(Client, "request", request)
