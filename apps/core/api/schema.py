"""drf-spectacular post-processing: what the serializers cannot say about the API by themselves.

Registered in SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"], after drf-spectacular's own enum hook.
"""

from __future__ import annotations

from typing import Any

ERROR_REF = {"$ref": "#/components/schemas/Error"}

# The body apps.core.api.exceptions writes for every 4xx and 5xx under /api/.
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every API error (4xx and 5xx) has this shape.",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "Stable, machine-readable: invalid, not_found, conflict…"},
                "message": {"type": "string"},
                "fields": {
                    "type": "object",
                    "description": "For code `invalid`: each refused field with its messages (nested for "
                    "nested inputs); `non_field_errors` for the request as a whole.",
                    "additionalProperties": True,
                },
            },
            "required": ["code", "message"],
            "additionalProperties": False,
        }
    },
    "required": ["error"],
    "additionalProperties": False,
}

_ERROR_RESPONSES = {
    "4XX": "The request was refused; see `error.code`.",
    "5XX": "The server failed or a service it needs is down (503 carries Retry-After).",
}

_BLANK = {"type": "string", "maxLength": 0}


def document_errors(result: dict, generator, request, public) -> dict:
    """Give every operation the error body: its declared error responses (409 from a transition,
    403, 404) had no content, and the ones that every operation can answer (400, 401, 403, 404,
    405, 413, 429, 500, 503) were not declared at all."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.get("responses", {})
            for status, response in responses.items():
                if status[0] in "45" and not response.get("content"):
                    response["content"] = {"application/json": {"schema": ERROR_REF}}
            for status, description in _ERROR_RESPONSES.items():
                responses.setdefault(
                    status, {"description": description, "content": {"application/json": {"schema": ERROR_REF}}}
                )
    return result


def blank_defaults_match_their_schema(result: dict, generator, request, public) -> dict:
    """An optional text input with a format or pattern and `allow_blank=True, default=""` (an
    e-mail address, a phone number, a language code) comes out of drf-spectacular as
    `oneOf: [{format…, default: ""}, {maxLength: 0}]`: the default sits in the branch it breaks,
    so the schema is invalid, and "" matches both branches when the format is not asserted or the
    pattern admits "" (the phone's), which `oneOf` refuses. It becomes
    `anyOf: [{format…}, {maxLength: 0}], default: ""`."""
    for component in result.get("components", {}).get("schemas", {}).values():
        for prop in component.get("properties", {}).values():
            branches = prop.get("oneOf")
            if not branches or branches[-1] != _BLANK:
                continue
            for branch in branches:
                if "default" in branch:
                    prop["default"] = branch.pop("default")
            prop["anyOf"] = prop.pop("oneOf")
    return result
