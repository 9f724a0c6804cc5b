"""The client's address: one answer for the sign-in lockout, the API throttles and the public
forms' rate limits.

Behind TRUSTED_PROXY_COUNT reverse proxies the client is the address the outermost trusted
proxy saw, the n-th entry from the right of X-Forwarded-For: entries further left were written
by the client and prove nothing. With no trusted proxy the header is ignored, so nobody can
rotate it to escape a limit or to lock somebody else out (#22 §3).
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest

# Every IPv6 customer holds at least a /64: counting single addresses there would give one
# client 2**64 fresh limits.
IPV6_LIMIT_PREFIX = 64


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def client_address(request: HttpRequest) -> str | None:
    """The client's IP address as text, or None when nothing usable arrived."""
    peer = request.META.get("REMOTE_ADDR", "")
    trusted = settings.TRUSTED_PROXY_COUNT
    if trusted > 0:
        forwarded = [part for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        # Fewer entries than trusted proxies: the request did not come through all of them.
        if len(forwarded) >= trusted and (address := _address(forwarded[-trusted])) is not None:
            return str(address)
    address = _address(peer)
    return str(address) if address is not None else None


def client_key(request: HttpRequest) -> str:
    """What a rate limit counts: the address, or its /64 network for IPv6. Requests without a
    usable address share one "unknown" counter rather than escaping the limit."""
    text = client_address(request)
    if text is None:
        return "unknown"
    address = _address(text)
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, IPV6_LIMIT_PREFIX), strict=False))
    return text
