from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from apps.accounts import services
from apps.accounts.api.serializers import MeSerializer, TokenRequestSerializer, TokenSerializer, UserSerializer
from apps.accounts.models import User
from apps.accounts.permissions import IsActiveUser, ModelPermissions


class MeView(APIView):
    """The signed-in user, their role and permissions."""

    permission_classes = [IsActiveUser]

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        return Response(MeSerializer(request.user).data)


class TokenView(APIView):
    """Exchange e-mail and password for an API token (throttled, lockout as for the sign-in page)."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"

    @extend_schema(request=TokenRequestSerializer, responses=TokenSerializer)
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
        token, _created = Token.objects.get_or_create(user=user)
        services.user_record_sign_in(user=user)
        return Response(TokenSerializer({"token": token.key}).data)


class UserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Portal users, for quality managers and auditors."""

    permission_classes = [IsActiveUser, ModelPermissions]
    serializer_class = UserSerializer
    queryset = User.objects.prefetch_related("groups").order_by("id")
    filterset_fields = ["is_active"]
    ordering_fields = ["id", "full_name"]
