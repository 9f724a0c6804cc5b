"""Staff pages for survey results and exports (included by urls.py)."""

from django.urls import path

from apps.surveys import results_views

urlpatterns = [
    path("results/", results_views.ResultsView.as_view(), name="results"),
    path("campaigns/<int:pk>/results/", results_views.CampaignResultsView.as_view(), name="campaign_results"),
    path("campaigns/<int:pk>/responses.csv", results_views.CampaignExportView.as_view(), name="campaign_export"),
]
