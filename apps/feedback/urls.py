from django.urls import path

from apps.feedback import linking, views

app_name = "feedback"

urlpatterns = [
    # Public: no account needed.
    path("", views.PublicFeedbackView.as_view(), name="submit"),
    path("thanks/", views.PublicThanksView.as_view(), name="thanks"),
    # Staff.
    path("list/", views.FeedbackListView.as_view(), name="feedback_list"),
    path("record/", views.FeedbackRecordView.as_view(), name="feedback_record"),
    path("triage/", views.TriageBoardView.as_view(), name="triage"),
    path("categories/", views.CategoryListView.as_view(), name="categories"),
    path("<int:pk>/", views.FeedbackDetailView.as_view(), name="feedback_detail"),
    path("<int:pk>/triage/", views.FeedbackTriageView.as_view(), name="feedback_triage"),
    path("<int:pk>/close/", views.FeedbackCloseView.as_view(), name="feedback_close"),
    path("<int:pk>/erase/", views.FeedbackEraseView.as_view(), name="feedback_erase"),
    path("<int:pk>/convert/", views.FeedbackConvertView.as_view(), name="feedback_convert"),
    path("<int:pk>/raise-action/", views.FeedbackRaiseActionView.as_view(), name="feedback_raise_action"),
    path("<int:pk>/customer/", linking.FeedbackLinkCustomerView.as_view(), name="feedback_link_customer"),
]
