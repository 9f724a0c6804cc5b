"""The published OpenAPI schema is valid, says what the API really returns, and the shared hook
(tests/api_schema.py) that checks every API response of the suite against it cannot pass a drift."""

from __future__ import annotations

import json

import pytest
from django.http import JsonResponse
from django.urls import include, path
from openapi_spec_validator import validate
from rest_framework.test import APIClient

from apps.complaints.api.serializers import ComplaintSerializer
from apps.complaints.models import Complaint
from tests.api_schema import api_schema
from tests.complaints.factories import make_complaint

COMPLAINT = "#/components/schemas/Complaint"


def _throwaway_complaint(request, pk):
    data = ComplaintSerializer(Complaint.objects.get(pk=pk)).data
    return JsonResponse({**data, "category": "Packaging"})


def _throwaway_accepted(request):
    return JsonResponse({"results": []}, status=202)


# Two throwaway views in front of the real URLs, at documented paths.
urlpatterns = [
    path("api/v1/complaints/<int:pk>/", _throwaway_complaint),
    path("api/v1/complaints/", _throwaway_accepted),
    path("", include("qms_portal.urls")),
]


@pytest.fixture
def published(api_clients) -> dict:
    response = api_clients["auditor"].get("/api/schema/?format=json")
    assert response.status_code == 200
    return json.loads(response.content)


def test_the_published_schema_passes_openapi_spec_validator(published):
    assert published["openapi"].startswith("3.1")
    validate(published)


def test_no_nullable_keyword_that_openapi_3_1_would_ignore(published):
    """OpenAPI 3.1 is JSON Schema: null is a type. A `nullable` left beside a $ref or a type
    (DRF's pagination links said it) is silently ignored, so the field reads non-nullable."""
    found = []

    def walk(node, pointer):
        if isinstance(node, dict):
            if "nullable" in node:
                found.append(pointer)
            for key, value in node.items():
                walk(value, f"{pointer}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{pointer}/{index}")

    walk(published, "#")
    assert found == []


def test_every_operation_documents_the_error_body(published):
    undocumented = [
        f"{method.upper()} {url}"
        for url, item in published["paths"].items()
        for method, operation in item.items()
        if operation["responses"].get("4XX", {}).get("content", {}).get("application/json", {}).get("schema")
        != {"$ref": "#/components/schemas/Error"}
    ]
    assert undocumented == []


@pytest.mark.parametrize("field", ["email", "phone", "preferred_language"])
def test_a_contact_may_be_sent_with_an_empty_optional_field(field):
    """The default "" of an optional e-mail, phone or language broke the schema (format, pattern),
    and "" matched both branches of the `oneOf` drf-spectacular wrote for the phone."""
    for component in ("ContactRequest", "PatchedContactRequest"):
        validator = api_schema().validator(f"#/components/schemas/{component}")
        assert validator.is_valid({"name": "Clara", "customer": 1, field: ""}), component
        if field != "email":
            assert not validator.is_valid({"name": "Clara", "customer": 1, field: "#"}), component


@pytest.mark.parametrize(
    ("field", "value"),
    [("category", None), ("product", None), ("customer", None), ("assignee", None), ("erased_at", None)],
)
def test_a_complaint_without_category_product_customer_assignee_or_erasure_is_null(field, value):
    properties = api_schema().spec["components"]["schemas"]["Complaint"]["properties"]
    assert api_schema().validator(f"{COMPLAINT}/properties/{field}").is_valid(value), properties[field]


@pytest.mark.parametrize(
    ("component", "field"),
    [("Contact", "survey_consent_source"), ("Feedback", "sentiment"), ("ApiToken", "revoke_reason")],
)
def test_an_unset_choice_is_an_empty_string_as_the_api_sends_it(component, field):
    validator = api_schema().validator(f"#/components/schemas/{component}/properties/{field}")
    assert validator.is_valid("")
    assert not validator.is_valid("made-up")


def test_survey_results_group_without_key_is_null():
    assert api_schema().validator("#/components/schemas/GroupScores/properties/key").is_valid(None)


# The hook itself ------------------------------------------------------------------------


def _problems(*, method="GET", url="/api/v1/complaints/1/", status=200, body=b"{}", content_type="application/json"):
    return api_schema().problems(method=method, path=url, status=status, content_type=content_type, body=body)


def test_the_hook_names_the_json_pointer_of_each_wrong_value(quality_manager):
    good = ComplaintSerializer(make_complaint(qm=quality_manager)).data
    assert _problems(body=json.dumps(good).encode()) == []
    bad = {**good, "id": "one", "status": 3}
    del bad["reference"]
    problems = _problems(body=json.dumps(bad).encode())
    schema = "#/paths/~1api~1v1~1complaints~1{id}~1/get/responses/200/content/application~1json/schema"
    assert problems[-1] == f"(schema: {schema})"
    assert sorted(problems[:-1]) == [
        '(root): "reference" is a required property',
        '/id: "one" is not of type "integer"',
        '/status: 3 is not of type "string"',
    ]


def test_the_hook_refuses_an_undocumented_status_or_operation_and_a_wrong_error_body():
    assert _problems(status=201) == ["status 201 is not documented for GET /api/v1/complaints/{id}/ (200, 4XX, 5XX)"]
    assert _problems(url="/api/v1/no-such-thing/", status=200) == ["200 from an operation the schema does not document"]
    assert _problems(status=404, body=b'{"detail": "Not found."}')
    assert _problems(status=404, body=b"<h1>Not found</h1>", content_type="text/html")
    assert _problems(status=404, body=b"{not json")


def test_the_hook_passes_what_the_schema_documents():
    assert _problems(status=404, body=b'{"error": {"code": "not_found", "message": "Not found."}}') == []
    # Not part of the API: the schema itself and the HTML documentation.
    assert _problems(url="/api/schema/", body=b"openapi: 3.1.0", content_type="application/yaml") == []
    # Django's slash-appending redirect happens before any API view.
    assert _problems(url="/api/v1/complaints", status=301, body=b"", content_type="text/html") == []


@pytest.mark.urls(__name__)
def test_every_test_client_response_goes_through_the_hook(quality_manager):
    """Through the test client, as every other test sends its requests, a throwaway view that
    breaks the schema fails the test that called it."""
    complaint = make_complaint(qm=quality_manager)
    client = APIClient()
    client.force_authenticate(quality_manager)
    with pytest.raises(pytest.fail.Exception, match=r"answered 200, which breaks.*\n  /category: \"Packaging\""):
        client.get(f"/api/v1/complaints/{complaint.pk}/")
    with pytest.raises(pytest.fail.Exception, match=r"status 202 is not documented for GET /api/v1/complaints/ "):
        client.get("/api/v1/complaints/")
