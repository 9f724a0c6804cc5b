"""Staff pages for questionnaires and campaigns (included by urls.py into the "surveys" namespace)."""

from django.urls import path

from apps.surveys import views

urlpatterns = [
    path("campaigns/", views.CampaignListView.as_view(), name="campaign_list"),
    path("campaigns/new/", views.CampaignCreateView.as_view(), name="campaign_create"),
    path("campaigns/<int:pk>/", views.CampaignDetailView.as_view(), name="campaign_detail"),
    path("campaigns/<int:pk>/edit/", views.CampaignEditView.as_view(), name="campaign_edit"),
    path("campaigns/<int:pk>/progress/", views.CampaignProgressView.as_view(), name="campaign_progress"),
    path("campaigns/<int:pk>/schedule/", views.CampaignScheduleView.as_view(), name="campaign_schedule"),
    path("campaigns/<int:pk>/unschedule/", views.CampaignUnscheduleView.as_view(), name="campaign_unschedule"),
    path("campaigns/<int:pk>/cancel/", views.CampaignCancelView.as_view(), name="campaign_cancel"),
    path("campaigns/<int:pk>/send-now/", views.CampaignSendNowView.as_view(), name="campaign_send_now"),
    path("campaigns/<int:pk>/send-draft/", views.CampaignSendDraftView.as_view(), name="campaign_send_draft"),
    path("campaigns/<int:pk>/contacts/upload/", views.CampaignImportView.as_view(), name="campaign_import"),
    path("questionnaires/", views.TemplateListView.as_view(), name="template_list"),
    path("questionnaires/new/", views.TemplateCreateView.as_view(), name="template_create"),
    path("questionnaires/<int:pk>/", views.TemplateDetailView.as_view(), name="template_detail"),
    path("questionnaires/<int:pk>/edit/", views.TemplateEditView.as_view(), name="template_edit"),
    path("questionnaires/<int:pk>/active/", views.TemplateActiveView.as_view(), name="template_set_active"),
]
