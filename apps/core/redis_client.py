import functools
import time

import redis
from django.conf import settings

# What a Redis that is stopped, restarting (BusyLoadingError is a ConnectionError) or out of reach
# raises. Narrow on purpose: a wrong command or a full memory is a bug to see, not an outage.
REDIS_UNAVAILABLE = (redis.ConnectionError, redis.TimeoutError)

# After a failure, how long this process leaves that Redis (or broker) alone and takes its
# fallback at once: without it, every request of an outage would first wait for its own refused
# connection or its own timeout. Short, so counting and enqueueing go back to Redis soon after
# it returns.
RETRY_AFTER_SECONDS = 5.0

_failed_at: dict[str, float] = {}


def redis_client(*, timeout: float = 2) -> redis.Redis:
    """A short-timeout client for the portal's Redis (the cache and broker server).

    One client (and connection pool) per URL and timeout in each process, so a request does
    not open a new connection; redis-py resets a pool inherited across a fork.
    """
    return _client(settings.REDIS_CLIENT_URL, timeout)


@functools.cache
def _client(url: str, timeout: float) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout, decode_responses=True)


def redis_resting(url: str) -> bool:
    """True while the Redis at `url` failed in this process less than RETRY_AFTER_SECONDS ago.

    Per process and per URL (a circuit breaker, not shared state): a dict look-up on the hot
    path, and each web process finds out for itself that Redis is back with its next try."""
    failed = _failed_at.get(url)
    if failed is None:
        return False
    if time.monotonic() - failed < RETRY_AFTER_SECONDS:
        return True
    _failed_at.pop(url, None)
    return False


def redis_failed(url: str) -> None:
    """Remember that the Redis at `url` just failed: `redis_resting(url)` is True for a while."""
    _failed_at[url] = time.monotonic()
