"""Every date a user can type is bounded (#22 §9): a year like 9999 or 1 is a 400 with the
field's error on the API and a form error on the pages, never a server error from the
calendar arithmetic behind it (a review period of December 9999 ends in year 10000).

The sweeps find their inputs themselves: the API's in the OpenAPI schema (request bodies and
query parameters), the pages' in the HTML forms they render, and every form and filter set
of the portal by introspection. A new date input is covered without being listed here."""

from __future__ import annotations

import importlib
import pkgutil
from html.parser import HTMLParser
from urllib.parse import urlencode

import django_filters
import pytest
from django import forms
from django.db import transaction
from django.test import Client
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

import apps
from apps.core import dates
from tests.security.access import make_personal
from tests.security.routes import page_patterns
from tests.security.world import api_url, page_kwargs

OUT_OF_RANGE = {
    "year 9999": {"date": "9999-12-31", "date-time": "9999-12-31T12:00:00Z", "datetime-local": "9999-12-31T12:00"},
    "year 1": {"date": "0001-01-01", "date-time": "0001-01-01T12:00:00Z", "datetime-local": "0001-01-01T12:00"},
}
DATE_FORMATS = ("date", "date-time")


# API ---------------------------------------------------------------------------------------------


def _resolve(schema: dict, node: dict) -> dict:
    if "$ref" in node:
        return _resolve(schema, schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]])
    return node


def _date_paths(schema: dict, node: dict, prefix: tuple = ()):
    """(path of keys, format) of every writable date in a request body; "[]" is a list item."""
    node = _resolve(schema, node)
    for combined in ("allOf", "oneOf", "anyOf"):
        for part in node.get(combined, []):
            yield from _date_paths(schema, part, prefix)
    if node.get("type") == "array" and "items" in node:
        yield from _date_paths(schema, node["items"], (*prefix, "[]"))
    for name, prop in node.get("properties", {}).items():
        resolved = _resolve(schema, prop)
        if resolved.get("readOnly"):
            continue
        if resolved.get("format") in DATE_FORMATS:
            yield (*prefix, name), resolved["format"]
        else:
            yield from _date_paths(schema, prop, (*prefix, name))


def api_date_inputs() -> list[tuple[str, str, str, tuple, str]]:
    """(method, path, "body" or "query", key path, format) of every date the API accepts."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    inputs = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and parameter["schema"].get("format") in DATE_FORMATS:
                    inputs.append((method.upper(), path, "query", (parameter["name"],), parameter["schema"]["format"]))
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                for keys, fmt in _date_paths(schema, body["schema"]):
                    inputs.append((method.upper(), path, "body", keys, fmt))
    return inputs


def _nest(keys: tuple, value):
    if not keys:
        return value
    if keys[0] == "[]":
        return [_nest(keys[1:], value)]
    return {keys[0]: _nest(keys[1:], value)}


def _error_at(fields, keys: tuple) -> bool:
    """Whether the API's `error.fields` holds an error for the input at `keys`."""
    for key in keys:
        if key == "[]":  # the first item's errors: a list, or a dict by index ("0")
            if isinstance(fields, list) and fields:
                fields = fields[0]
            elif isinstance(fields, dict) and "0" in fields:
                fields = fields["0"]
            else:
                return False
        elif isinstance(fields, dict) and key in fields:
            fields = fields[key]
        else:
            return False
    return bool(fields)


def test_the_sweep_finds_the_api_dates_it_must_cover():
    found = {(method, path, keys) for method, path, _where, keys, _fmt in api_date_inputs()}
    assert ("POST", "/api/v1/review-schedules/", ("next_period_start",)) in found
    assert ("POST", "/api/v1/interactions/", ("follow_ups", "[]", "due_date")) in found
    assert ("GET", "/api/v1/audit/entries/", ("since",)) in found
    assert ("GET", "/api/v1/surveys/results/", ("date_from",)) in found


@pytest.mark.django_db
@pytest.mark.parametrize("year", list(OUT_OF_RANGE))
def test_every_api_date_outside_the_calendar_is_a_400_naming_the_field(world, personas, year):
    make_personal(world, personas)
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(personas["quality_manager"])
    problems = []
    for method, path, where, keys, fmt in api_date_inputs():
        value = OUT_OF_RANGE[year][fmt]
        url = api_url(path, world)
        # A savepoint per request, as each request is its own transaction in production.
        with transaction.atomic():
            if where == "query":
                response = client.generic(method, f"{url}?{urlencode({keys[0]: value})}")
            else:
                response = getattr(client, method.lower())(url, _nest(keys, value), format="json")
            transaction.set_rollback(True)
        label = f"{method} {path} {'.'.join(keys)}={value}"
        if response.status_code != 400:
            problems.append(f"{label}: {response.status_code}")
        elif not _error_at(response.json().get("error", {}).get("fields"), keys):
            problems.append(f"{label}: 400 without the field's error: {response.json()}")
    assert not problems, "\n".join(problems)


# Pages -------------------------------------------------------------------------------------------


class _Forms(HTMLParser):
    """The forms of a page with the fields a browser would send, and which of them are dates."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._select = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            method = (attrs.get("method") or "get").upper()
            self.forms.append({"method": method, "action": attrs.get("action"), "data": {}, "dates": {}})
        if not self.forms:
            return
        form = self.forms[-1]
        name = attrs.get("name")
        if name and "disabled" in attrs:
            return  # a browser does not send it, and the form keeps the stored value
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in ("date", "datetime-local"):
                form["dates"][name] = kind
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            if kind not in ("submit", "button", "file"):
                form["data"].setdefault(name, attrs.get("value") or "")
        elif tag == "select" and name:
            self._select = name
            form["data"].setdefault(name, "")
        elif tag == "option" and self._select and "selected" in attrs:
            form["data"][self._select] = attrs.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            form["data"][name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea and self.forms:
            self.forms[-1]["data"][self._textarea] += data


def page_date_forms(client: Client, world: dict) -> list[tuple[str, str, str, dict, dict]]:
    """(route, method, action URL, fields, date inputs) of every page form with a date input."""
    found = []
    for name, pattern in page_patterns():
        url = reverse(name, kwargs=page_kwargs(name, pattern, world))
        response = client.get(url)
        if response.streaming:  # a download: reading it to the end closes its file
            b"".join(response.streaming_content)
            continue
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        parser = _Forms()
        parser.feed(response.content.decode())
        found += [
            (name, form["method"], form["action"] or url, form["data"], form["dates"])
            for form in parser.forms
            if form["dates"]
        ]
    return found


@pytest.mark.django_db
@pytest.mark.parametrize("year", list(OUT_OF_RANGE))
def test_every_page_date_outside_the_calendar_is_a_form_error(world, personas, year):
    make_personal(world, personas)
    client = Client(raise_request_exception=False)
    client.force_login(personas["quality_manager"])
    date_forms = page_date_forms(client, world)
    # The sweep must see the forms it exists for: a scheduled review, a filter, a formset.
    routes = {route for route, *_rest in date_forms}
    assert {"reviews:schedule_create", "feedback:feedback_list", "customers:interaction_create"} <= routes
    problems = []
    for route, method, action, data, date_inputs in date_forms:
        for field, kind in date_inputs.items():
            sent = {**data, field: OUT_OF_RANGE[year][kind]}
            with transaction.atomic():
                send = client.post if method == "POST" else client.get
                # Some steps redirect to the record with the error as a message, some show
                # the page again with 400: either way the person sees what to correct.
                response = send(action, sent, follow=True)
                transaction.set_rollback(True)
            label = f"{route} {method} {field}={sent[field]}"
            if response.status_code not in (200, 400):
                problems.append(f"{label}: {response.status_code}")
            elif dates.out_of_range_message() not in response.content.decode():
                problems.append(f"{label}: no form error")
    assert not problems, "\n".join(problems)


# Every form and filter set -----------------------------------------------------------------------


def _portal_classes(base: type) -> list[type]:
    for module in pkgutil.walk_packages(apps.__path__, "apps."):
        if ".migrations" not in module.name and ".management." not in module.name:
            importlib.import_module(module.name)
    found, pending = [], [base]
    while pending:
        cls = pending.pop()
        pending += cls.__subclasses__()
        if cls.__module__.startswith("apps."):
            found.append(cls)
    return found


def _unbounded(fields: dict) -> list[str]:
    return [
        name
        for name, field in fields.items()
        if isinstance(field, forms.DateField | forms.DateTimeField) and not dates.is_bounded(field)
    ]


def test_every_form_bounds_its_dates():
    unbounded = [
        f"{cls.__module__}.{cls.__name__}.{name}"
        for cls in _portal_classes(forms.BaseForm)
        for name in _unbounded(cls.base_fields)
    ]
    assert not unbounded, "use apps.core.dates.DateField / DateTimeField for: " + ", ".join(sorted(unbounded))


def test_every_filter_set_bounds_its_dates():
    unbounded = [
        f"{cls.__module__}.{cls.__name__}.{name}"
        for cls in _portal_classes(django_filters.FilterSet)
        for name in _unbounded({name: flt.field for name, flt in cls.base_filters.items()})
    ]
    assert not unbounded, "use apps.core.filters' DateFilter / IsoDateTimeFilter for: " + ", ".join(sorted(unbounded))
