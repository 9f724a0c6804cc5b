"""The customer's survey pages under /s/ (no login)."""

from django.urls import path

from apps.surveys import public_views

app_name = "surveys_public"
urlpatterns = [
    path("<str:token>/", public_views.AnswerView.as_view(), name="answer"),
    path("<str:token>/thanks/", public_views.ThanksView.as_view(), name="thanks"),
    path("<str:token>/opt-out/", public_views.OptOutView.as_view(), name="opt_out"),
]
