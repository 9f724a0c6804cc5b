from django.urls import path

from apps.complaints import linking, views

app_name = "complaints"

urlpatterns = [
    path("", views.ComplaintListView.as_view(), name="complaint_list"),
    path("new/", views.PublicComplaintView.as_view(), name="public_new"),
    path("new/done/", views.PublicDoneView.as_view(), name="public_done"),
    path("record/", views.StaffComplaintCreateView.as_view(), name="complaint_record"),
    path("track/<str:token>/", views.TrackView.as_view(), name="track"),
    path(
        "track/<str:token>/attachments/<int:attachment_id>/",
        views.TrackAttachmentView.as_view(),
        name="track_attachment",
    ),
    path("categories/", views.CategoryListView.as_view(), name="category_list"),
    path("sla-policy/", views.SlaPolicyView.as_view(), name="sla_policy"),
    path(
        "record/customer/<int:customer_pk>/",
        linking.CustomerComplaintCreateView.as_view(),
        name="complaint_record_for_customer",
    ),
    path("<int:pk>/", views.ComplaintDetailView.as_view(), name="complaint_detail"),
    path("<int:pk>/customer/", linking.ComplaintLinkCustomerView.as_view(), name="complaint_link_customer"),
    path("<int:pk>/transition/", views.TransitionView.as_view(), name="complaint_transition"),
    path("<int:pk>/reopen/", views.ReopenView.as_view(), name="complaint_reopen"),
    path("<int:pk>/erase/", views.EraseView.as_view(), name="complaint_erase"),
    path("<int:pk>/messages/", views.MessageView.as_view(), name="complaint_message"),
    path("<int:pk>/assess/", views.AssessView.as_view(), name="complaint_assess"),
    path("<int:pk>/assign/", views.AssignView.as_view(), name="complaint_assign"),
    path("<int:pk>/raise-action/", views.RaiseActionView.as_view(), name="complaint_raise_action"),
    path("<int:pk>/attachments/<int:attachment_id>/", views.AttachmentView.as_view(), name="attachment"),
]
