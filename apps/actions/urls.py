from django.urls import path

from apps.actions import views

app_name = "actions"

urlpatterns = [
    path("", views.ActionListView.as_view(), name="action_list"),
    path("new/", views.ActionCreateView.as_view(), name="action_create"),
    path("<int:pk>/", views.ActionDetailView.as_view(), name="action_detail"),
    path("<int:pk>/edit/", views.ActionUpdateView.as_view(), name="action_update"),
    path("<int:pk>/start/", views.ActionStartView.as_view(), name="action_start"),
    path("<int:pk>/implement/", views.ActionImplementView.as_view(), name="action_implement"),
    path("<int:pk>/verify/", views.ActionVerifyView.as_view(), name="action_verify"),
    path("<int:pk>/reopen/", views.ActionReopenView.as_view(), name="action_reopen"),
    path("<int:pk>/items/new/", views.PlanItemAddView.as_view(), name="plan_item_add"),
    path("<int:pk>/items/<int:item_pk>/done/", views.PlanItemDoneView.as_view(), name="plan_item_done"),
]
