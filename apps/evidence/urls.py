from django.urls import path

from apps.evidence import views

app_name = "evidence"

urlpatterns = [
    path("clauses/", views.ClauseMapView.as_view(), name="clause_map"),
    path("integrity/", views.IntegrityView.as_view(), name="integrity"),
    path("packs/", views.PackListView.as_view(), name="pack_list"),
    path("packs/<int:pk>/download/", views.PackDownloadView.as_view(), name="pack_download"),
]
