from django.urls import path

from apps.reviews import views

app_name = "reviews"

urlpatterns = [
    path("", views.ReviewListView.as_view(), name="review_list"),
    path("new/", views.ReviewCreateView.as_view(), name="review_create"),
    path("<int:pk>/", views.ReviewDetailView.as_view(), name="review_detail"),
    path("<int:pk>/edit/", views.ReviewUpdateView.as_view(), name="review_update"),
    path("<int:pk>/compile/", views.CompileView.as_view(), name="review_compile"),
    path("<int:pk>/regenerate/", views.RegenerateView.as_view(), name="review_regenerate"),
    path("<int:pk>/hold/", views.HoldView.as_view(), name="review_hold"),
    path("<int:pk>/decisions/new/", views.DecisionCreateView.as_view(), name="decision_create"),
    path("<int:pk>/close/", views.CloseView.as_view(), name="review_close"),
    path("<int:pk>/reports/<int:version>/", views.ReportView.as_view(), name="report_view"),
    path("<int:pk>/reports/<int:version>/download/", views.ReportDownloadView.as_view(), name="report_download"),
    path("schedules/", views.ScheduleListView.as_view(), name="schedule_list"),
    path("schedules/new/", views.ScheduleCreateView.as_view(), name="schedule_create"),
    path("schedules/<int:pk>/edit/", views.ScheduleUpdateView.as_view(), name="schedule_update"),
]
