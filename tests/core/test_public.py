import pytest
from django import forms
from django.test import RequestFactory

from apps.core.public import HoneypotFormMixin, rate_limited


class ContactForm(HoneypotFormMixin):
    message = forms.CharField()


def test_honeypot_filled_in_refuses_the_form():
    assert ContactForm({"message": "hi"}).is_valid()
    form = ContactForm({"message": "hi", "website": "http://spam.example"})
    assert not form.is_valid()
    assert "website" in form.errors


@pytest.mark.parametrize("limit", [1, 3])
def test_rate_limit_counts_per_client_address(limit):
    factory = RequestFactory()
    first = factory.post("/", REMOTE_ADDR="203.0.113.7")
    other = factory.post("/", REMOTE_ADDR="203.0.113.8")
    results = [rate_limited(first, scope=f"t{limit}", limit=limit, window_seconds=60) for _ in range(limit + 1)]
    assert results == [False] * limit + [True]
    assert rate_limited(other, scope=f"t{limit}", limit=limit, window_seconds=60) is False


def test_the_rate_limit_window_expires_and_is_shared_with_the_cache_prefix(settings):
    """The counter carries the window as its expiry from the first count on (a counter without
    one would block the address for ever) and lives under the cache's prefix, so it is cleared
    with the cache."""
    from django.core.cache import cache

    from apps.core.redis_client import redis_client

    request = RequestFactory().post("/", REMOTE_ADDR="203.0.113.9")
    for _ in range(3):
        rate_limited(request, scope="ttl", limit=5, window_seconds=40)
    key = cache.make_key("ratelimit:ttl:203.0.113.9")
    assert key.startswith(f"{settings.CACHES['default']['KEY_PREFIX']}:")
    assert redis_client().get(key) == "3"
    assert 0 < redis_client().ttl(key) <= 40
    redis_client().delete(key)
    assert rate_limited(request, scope="ttl", limit=1, window_seconds=40) is False
