from django.urls import path

from apps.requirements import views

app_name = "requirements"

urlpatterns = [
    path("", views.RequirementListView.as_view(), name="requirement_list"),
    path("review-queue/", views.ReviewQueueView.as_view(), name="review_queue"),
    path("new/", views.RequirementCreateView.as_view(), name="requirement_create"),
    path("<int:pk>/", views.RequirementDetailView.as_view(), name="requirement_detail"),
    path("<int:pk>/edit/", views.RequirementUpdateView.as_view(), name="requirement_update"),
    path("<int:pk>/versions/<int:number>/", views.RequirementVersionView.as_view(), name="version_detail"),
    path("<int:pk>/submit/", views.RequirementSubmitView.as_view(), name="requirement_submit"),
    path("<int:pk>/review/", views.RequirementReviewView.as_view(), name="requirement_review"),
    path("<int:pk>/request-change/", views.RequirementRequestChangeView.as_view(), name="requirement_request_change"),
    path("<int:pk>/rework/", views.RequirementReworkView.as_view(), name="requirement_rework"),
    path("<int:pk>/withdraw/", views.RequirementWithdrawView.as_view(), name="requirement_withdraw"),
]
