"""Absolute links to the portal: one public address, SITE_URL, for every link we hand out.

Never the request's Host header: a link in an e-mail outlives the request, and a Host an
attacker chose (or a developer's `localhost:8100`) would send a password reset or a tracking
link somewhere else (#22 §9). Relative links inside pages need none of this.
"""

from __future__ import annotations

from django.conf import settings


def absolute_url(path: str) -> str:
    """`path` (absolute, from `reverse()` or `get_absolute_url()`) on SITE_URL."""
    if not path.startswith("/"):
        raise ValueError(f"absolute_url() takes a path starting with '/', not {path!r}")
    return f"{settings.SITE_URL.rstrip('/')}{path}"
