import threading
import time
from concurrent.futures import ThreadPoolExecutor

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


# While Redis is down (#27) ---------------------------------------------------------------------


@pytest.fixture
def own_redis(settings, tmp_path):
    """A redis-server of the test's own on 127.0.0.1 behind the cache and the portal's client, for
    the test to stop and start again: a real outage, not a client that pretends."""
    from tests.soak.services import Redis

    server = Redis(tmp_path)
    cache = dict(settings.CACHES["default"])
    cache["LOCATION"] = settings.REDIS_CLIENT_URL = server.url
    settings.CACHES = {**settings.CACHES, "default": cache}
    yield server
    server.stop()


@pytest.mark.django_db
def test_while_redis_is_down_the_limit_still_refuses_the_one_past_it(own_redis):
    own_redis.stop()
    factory = RequestFactory()
    first = factory.post("/", REMOTE_ADDR="203.0.113.20")
    other = factory.post("/", REMOTE_ADDR="203.0.113.21")
    results = [rate_limited(first, scope="down", limit=3, window_seconds=60) for _ in range(4)]
    assert results == [False, False, False, True]
    assert rate_limited(other, scope="down", limit=3, window_seconds=60) is False


@pytest.mark.django_db
def test_counting_resumes_in_redis_once_it_answers_again(own_redis, monkeypatch):
    from django.core.cache import cache

    from apps.core import redis_client as redis_module

    # The process leaves a failed Redis alone for a few seconds; the test does not wait that long.
    monkeypatch.setattr(redis_module, "RETRY_AFTER_SECONDS", 0.2, raising=False)
    request = RequestFactory().post("/", REMOTE_ADDR="203.0.113.22")
    own_redis.stop()
    assert rate_limited(request, scope="resume", limit=5, window_seconds=60) is False
    own_redis.start()
    time.sleep(0.3)
    assert rate_limited(request, scope="resume", limit=5, window_seconds=60) is False
    assert redis_module.redis_client().get(cache.make_key("ratelimit:resume:203.0.113.22")) == "1"


@pytest.mark.django_db(transaction=True)
def test_the_fallback_counts_parallel_clients_on_their_own_connections_exactly(own_redis):
    """Each thread has its own PostgreSQL connection, as each web process does: the counter is
    one row updated in place, so parallel sends neither lose a count nor let one more through."""
    from django.db import connection

    own_redis.stop()
    request = RequestFactory().post("/", REMOTE_ADDR="203.0.113.23")
    start = threading.Barrier(6)

    def sender() -> list[bool]:
        try:
            start.wait()
            return [rate_limited(request, scope="parallel", limit=10, window_seconds=60) for _ in range(5)]
        finally:
            connection.close()

    with ThreadPoolExecutor(6) as pool:
        results = [result for batch in pool.map(lambda _n: sender(), range(6)) for result in batch]
    assert results.count(False) == 10
    assert results.count(True) == 20
