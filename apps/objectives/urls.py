from django.urls import path

from apps.objectives import views

app_name = "objectives"

urlpatterns = [
    path("", views.ObjectiveListView.as_view(), name="objective_list"),
    path("new/", views.ObjectiveCreateView.as_view(), name="objective_create"),
    path("<int:pk>/", views.ObjectiveDetailView.as_view(), name="objective_detail"),
    path("<int:pk>/edit/", views.ObjectiveUpdateView.as_view(), name="objective_update"),
    path("<int:pk>/steps/<slug:step>/", views.ObjectiveTransitionView.as_view(), name="objective_transition"),
    path("<int:pk>/recompute/", views.RecomputeView.as_view(), name="objective_recompute"),
    path("<int:pk>/raise-action/", views.RaiseActionView.as_view(), name="objective_raise_action"),
    path("<int:pk>/measurements/new/", views.MeasurementCreateView.as_view(), name="measurement_create"),
]
