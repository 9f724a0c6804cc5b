"""One JSON error shape for the whole API: {"error": {"code", "message", "fields"?}}."""

from __future__ import annotations

import logging

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from apps.core.exceptions import (
    BusinessRuleViolation,
    InvalidTransition,
    dependency_errors,
    request_too_large_errors,
)

logger = logging.getLogger(__name__)


def _body(code: str, message, fields=None) -> dict:
    error = {"code": code, "message": str(message)}
    if fields:
        error["fields"] = fields
    return {"error": error}


def exception_handler(exc, context):
    """Map domain and framework errors to 4xx JSON; anything else is a logged 500 with JSON."""
    if isinstance(exc, InvalidTransition | BusinessRuleViolation):
        return Response(_body("conflict", exc), status=status.HTTP_409_CONFLICT)
    if isinstance(exc, request_too_large_errors() + dependency_errors()):
        from apps.core.views import request_too_large, service_unavailable

        request = context["request"]
        if isinstance(exc, request_too_large_errors()):
            return request_too_large(request, exc)
        return service_unavailable(request, exc)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, Http404 | ObjectDoesNotExist):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("unhandled API error", exc_info=exc)
        return Response(_body("server_error", "Internal server error."), status=500)
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = _body("invalid", "The request has invalid fields.", detail)
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        response.data = _body(code if isinstance(code, str) else "error", detail)
    return response


def json_error_view(status_code: int, code: str, message: str):
    """Django handler for /api/ paths that never reached DRF (unknown URL, crash)."""

    def view(request, exception=None):
        return JsonResponse(_body(code, message), status=status_code)

    return view
