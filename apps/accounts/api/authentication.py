from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from apps.accounts import services
from apps.accounts.models import ApiToken, api_token_digest


class BearerTokenAuthentication(TokenAuthentication):
    """`Authorization: Bearer <token>`, the spelling most HTTP clients use.

    The token is found by the SHA-256 of what the client sent (the database holds no
    secret). It is refused once expired or revoked, and while its account is inactive or
    its access has expired, like a browser session. Subclasses DRF's class for its header
    parsing and its OpenAPI security scheme; DRF's own Token model is not used."""

    keyword = "Bearer"
    model = ApiToken

    def authenticate_credentials(self, key):
        token = ApiToken.objects.select_related("user").filter(digest=api_token_digest(key)).first()
        # One message for unknown, revoked and expired: a client cannot tell which tokens existed.
        if token is None or not token.is_active:
            raise exceptions.AuthenticationFailed(_("Invalid, expired or revoked token."))
        user = token.user
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        if user.access_expired:
            raise exceptions.AuthenticationFailed(_("This account's access has expired."))
        services.api_token_touch(token)
        return user, token
