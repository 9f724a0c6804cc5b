"""A URLconf with a token route the log filter was never told about (tests/core/test_logging.py)."""

from django.http import HttpResponse
from django.urls import path


def _view(request, token):
    return HttpResponse()


urlpatterns = [path("invitations/<str:token>/accept/", _view, name="accept")]
