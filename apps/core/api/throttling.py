"""DRF throttles that count by the portal's client address (apps.core.client).

DRF's own `get_ident` believes any X-Forwarded-For unless NUM_PROXIES is set, so rotating the
header escaped every throttle; these ask the one function the lockout and the public forms use.
"""

from __future__ import annotations

from rest_framework import throttling

from apps.core.client import client_key


class ClientAddressMixin:
    def get_ident(self, request) -> str:
        return client_key(request)


class ScopedRateThrottle(ClientAddressMixin, throttling.ScopedRateThrottle):
    pass


class AnonRateThrottle(ClientAddressMixin, throttling.AnonRateThrottle):
    pass
