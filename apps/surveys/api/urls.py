from django.urls import path
from rest_framework.routers import SimpleRouter

from apps.surveys.api import views

router = SimpleRouter()
router.register("surveys/templates", views.SurveyTemplateViewSet, basename="survey-template")
router.register("surveys/campaigns", views.CampaignViewSet, basename="survey-campaign")
router.register("surveys/waves", views.WaveViewSet, basename="survey-wave")
router.register("surveys/invitations", views.InvitationViewSet, basename="survey-invitation")
router.register("surveys/responses", views.ResponseViewSet, basename="survey-response")

urlpatterns = [
    path("surveys/results/", views.ResultsAPIView.as_view(), name="survey-results"),
    *router.urls,
]
