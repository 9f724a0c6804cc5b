from django.urls import path

from apps.core import outbox_views

app_name = "core"

urlpatterns = [
    path("failed/", outbox_views.FailedEmailListView.as_view(), name="outbox_failed"),
    path("failed/resend/", outbox_views.ResendFailedEmailsView.as_view(), name="outbox_resend"),
    path("failed/dismiss/", outbox_views.DismissFailedEmailsView.as_view(), name="outbox_dismiss"),
]
