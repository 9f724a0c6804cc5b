"""Shared view pieces: error pages (JSON under /api/, HTML elsewhere) and service-backed forms."""

from django.core.exceptions import ValidationError
from django.http import HttpResponseServerError
from django.shortcuts import redirect, render
from django.template import loader

from apps.core.api.exceptions import json_error_view
from apps.core.exceptions import BusinessRuleViolation, InvalidTransition

_MESSAGES = {
    400: ("bad_request", "Bad request."),
    403: ("permission_denied", "You do not have permission to perform this action."),
    404: ("not_found", "Not found."),
    500: ("server_error", "Internal server error."),
}


def error_view(status_code: int):
    code, message = _MESSAGES[status_code]
    as_json = json_error_view(status_code, code, message)

    def view(request, exception=None):
        if request.path.startswith("/api/"):
            return as_json(request)
        if status_code == 500:
            # No context processors: whatever broke the request may break them too.
            return HttpResponseServerError(loader.render_to_string("500.html"))
        return render(request, f"{status_code}.html", status=status_code)

    return view


# Forms that call a service ------------------------------------------------------------

SERVICE_ERRORS = (BusinessRuleViolation, InvalidTransition, ValidationError)


def add_service_error(form, error: Exception) -> None:
    """Show an error raised by a service on the form: field errors on their fields, the rest on top."""
    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    elif isinstance(error, ValidationError):
        form.add_error(None, error.messages)
    else:
        form.add_error(None, str(error))


class ServiceFormMixin:
    """A FormView whose `perform(form)` calls a service; a refused change re-renders the form with the reason."""

    def perform(self, form):
        raise NotImplementedError

    def success_url_for(self, result) -> str:
        raise NotImplementedError

    def form_valid(self, form):
        try:
            result = self.perform(form)
        except SERVICE_ERRORS as error:
            add_service_error(form, error)
            return self.form_invalid(form)
        return redirect(self.success_url_for(result))
