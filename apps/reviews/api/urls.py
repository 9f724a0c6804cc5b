from rest_framework.routers import SimpleRouter

from apps.reviews.api.views import ManagementReviewViewSet, ReviewScheduleViewSet

router = SimpleRouter()
router.register("reviews", ManagementReviewViewSet, basename="review")
router.register("review-schedules", ReviewScheduleViewSet, basename="review-schedule")

urlpatterns = router.urls
