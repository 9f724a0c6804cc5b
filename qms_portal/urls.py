from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from apps.accounts.api import views as accounts_api
from apps.audit.api import views as audit_api
from apps.core.api import outbox as outbox_api
from apps.core.health import healthz
from apps.core.metrics import metrics_view
from apps.core.views import error_view

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("users", accounts_api.UserViewSet, basename="user")
router.register("auth/tokens", accounts_api.ApiTokenViewSet, basename="apitoken")
router.register("audit/entries", audit_api.AuditEntryViewSet, basename="auditentry")
router.register("outbox/failed", outbox_api.FailedEmailViewSet, basename="failedemail")

api_v1 = [
    path("me/", accounts_api.MeView.as_view(), name="me"),
    path("auth/token/", accounts_api.TokenView.as_view(), name="token"),
    *router.urls,
    path("", include("apps.customers.api.urls")),
    path("", include("apps.requirements.api.urls")),
    path("", include("apps.actions.api.urls")),
    path("", include("apps.complaints.api.urls")),
    path("", include("apps.feedback.api.urls")),
    path("", include("apps.surveys.api.urls")),
    path("", include("apps.objectives.api.urls")),
    path("", include("apps.reviews.api.urls")),
]

urlpatterns = [
    path("", include("apps.dashboard.urls")),
    path("accounts/", include("apps.accounts.urls")),
    path("audit/", include("apps.audit.urls")),
    path("evidence/", include("apps.evidence.urls")),
    path("customers/", include("apps.customers.urls")),
    path("requirements/", include("apps.requirements.urls")),
    path("actions/", include("apps.actions.urls")),
    path("complaints/", include("apps.complaints.urls")),
    path("feedback/", include("apps.feedback.urls")),
    path("surveys/", include("apps.surveys.urls")),
    path("objectives/", include("apps.objectives.urls")),
    path("reviews/", include("apps.reviews.urls")),
    path("outbox/", include("apps.core.urls")),
    path("s/", include("apps.surveys.public_urls")),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
]
if settings.ADMIN_ENABLED:
    urlpatterns.append(path("admin/", admin.site.urls))

handler400 = error_view(400)
handler403 = error_view(403)
handler404 = error_view(404)
handler500 = error_view(500)
