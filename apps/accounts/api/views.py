from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts import services
from apps.accounts.api.serializers import (
    ApiTokenSerializer,
    MeSerializer,
    TokenRequestSerializer,
    TokenSerializer,
    UserSerializer,
)
from apps.accounts.models import ApiToken, User
from apps.accounts.permissions import IsActiveUser, ModelPermissions
from apps.core.api.throttling import ScopedRateThrottle
from apps.core.api.viewsets import ScopedViewSet


class MeView(APIView):
    """The signed-in user, their role and permissions."""

    permission_classes = [IsActiveUser]

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        return Response(MeSerializer(request.user).data)


class TokenView(APIView):
    """Exchange e-mail and password for a new API token (throttled, lockout as for the sign-in
    page). Every call issues another token; the secret is in this response only."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"

    @extend_schema(request=TokenRequestSerializer, responses={201: TokenSerializer})
    def post(self, request):
        payload = TokenRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        user = authenticate(
            request=request._request,
            username=payload.validated_data["email"],
            password=payload.validated_data["password"],
        )
        if user is None:
            services.user_record_failed_sign_in(email=payload.validated_data["email"])
            raise AuthenticationFailed("E-mail address or password is wrong, or the account is locked.")
        issued = services.api_token_issue(user=user, name=payload.validated_data["name"], actor=user)
        services.user_record_sign_in(user=user)
        body = TokenSerializer(issued.token, context={"secret": issued.secret}).data
        return Response(body, status=status.HTTP_201_CREATED)


class UserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Portal users, for quality managers and auditors."""

    permission_classes = [IsActiveUser, ModelPermissions]
    serializer_class = UserSerializer
    queryset = User.objects.prefetch_related("groups").order_by("id")
    filterset_fields = ["is_active"]
    ordering_fields = ["id", "full_name"]


class CanRevokeToken(BasePermission):
    """One's own tokens, or anyone's with `revoke_apitoken` (quality managers). An auditor
    sees others' tokens but may not revoke them (403); staff do not see them (404)."""

    def has_object_permission(self, request, view, obj) -> bool:
        return obj.user_id == request.user.pk or request.user.has_perm("accounts.revoke_apitoken")


class ApiTokenViewSet(mixins.ListModelMixin, ScopedViewSet):
    """API tokens: one's own, or everyone's for quality managers and auditors (`?user=<id>`
    narrows the list to one person). Secrets are never listed; issue with POST /auth/token/."""

    permission_classes = [IsActiveUser]
    serializer_class = ApiTokenSerializer
    filterset_fields = ["user"]
    ordering_fields = ["created_at", "expires_at"]
    ordering = ("-created_at", "-id")

    def base_queryset(self):
        return ApiToken.objects.all()

    @extend_schema(
        request=None,
        responses={200: ApiTokenSerializer, 403: OpenApiResponse(description="Another user's token.")},
    )
    @action(detail=True, methods=["post"], permission_classes=[IsActiveUser, CanRevokeToken])
    def revoke(self, request, pk=None):
        """Revoke a token now; revoking a revoked token changes nothing."""
        token = self.get_object()
        return self.output(services.api_token_revoke(token_id=token.pk, actor=request.user))
