"""The project's URLs plus the bench's reference views (bench_lists.py switches ROOT_URLCONF
to this module); nothing outside the benchmarks ever routes here."""

from django.urls import path

from qms_portal.urls import urlpatterns as project_urlpatterns
from tests.bench.reference import feedback_values_view

urlpatterns = [path("bench/feedback-values/", feedback_values_view, name="bench-feedback-values"), *project_urlpatterns]
