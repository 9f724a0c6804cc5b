import functools

import redis
from django.conf import settings


def redis_client(*, timeout: float = 2) -> redis.Redis:
    """A short-timeout client for the portal's Redis (the cache and broker server).

    One client (and connection pool) per URL and timeout in each process, so a request does
    not open a new connection; redis-py resets a pool inherited across a fork.
    """
    return _client(settings.REDIS_CLIENT_URL, timeout)


@functools.cache
def _client(url: str, timeout: float) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout, decode_responses=True)
