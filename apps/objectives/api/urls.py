from rest_framework.routers import SimpleRouter

from apps.objectives.api.views import QualityObjectiveViewSet

router = SimpleRouter()
router.register("objectives", QualityObjectiveViewSet, basename="objective")

urlpatterns = router.urls
