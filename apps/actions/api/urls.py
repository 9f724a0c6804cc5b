from rest_framework.routers import SimpleRouter

from apps.actions.api.views import CorrectiveActionViewSet

router = SimpleRouter()
router.register("actions", CorrectiveActionViewSet, basename="action")

urlpatterns = router.urls
