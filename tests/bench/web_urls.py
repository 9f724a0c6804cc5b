"""The project's URLs plus the web bench's reference: a plain Django insert view (a form,
its validation, one INSERT, a redirect) with none of our layers (service, audit entry,
encryption, reference number, outbox)."""

from django import forms
from django.db import connection
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template import engines
from django.urls import path

from qms_portal.urls import urlpatterns as project_urlpatterns

TABLE = "bench_submission"
PAGE = engines["django"].from_string(
    '<!doctype html><form method="post">{% csrf_token %}{{ form }}<button>Send</button></form>'
)


class PlainForm(forms.Form):
    text = forms.CharField(max_length=5000)
    rating = forms.IntegerField(min_value=1, max_value=5, required=False)


def plain_insert_view(request):
    form = PlainForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {TABLE} (text, rating, created_at) VALUES (%s, %s, now())",  # noqa: S608
                [form.cleaned_data["text"], form.cleaned_data["rating"]],
            )
        return redirect("bench-insert-done")
    return HttpResponse(PAGE.render({"form": form}, request))


def done_view(request):
    return HttpResponse("Thank you.")


urlpatterns = [
    path("bench/insert/", plain_insert_view, name="bench-insert"),
    path("bench/insert/done/", done_view, name="bench-insert-done"),
    *project_urlpatterns,
]
