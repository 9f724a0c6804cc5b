from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication


class BearerTokenAuthentication(TokenAuthentication):
    """`Authorization: Bearer <token>`, the spelling most HTTP clients use.

    A token stops working when its account's access expires, like a browser session does."""

    keyword = "Bearer"

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if user.access_expired:
            raise exceptions.AuthenticationFailed(_("This account's access has expired."))
        return user, token
