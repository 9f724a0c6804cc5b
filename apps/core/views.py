"""Error pages: JSON under /api/, HTML elsewhere."""

from django.http import HttpResponseServerError
from django.shortcuts import render
from django.template import loader

from apps.core.api.exceptions import json_error_view

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
