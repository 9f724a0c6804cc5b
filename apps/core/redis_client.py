import redis
from django.conf import settings


def redis_client(*, timeout: float = 2) -> redis.Redis:
    """A short-timeout client for the portal's Redis (the cache and broker server)."""
    return redis.Redis.from_url(
        settings.REDIS_CLIENT_URL, socket_timeout=timeout, socket_connect_timeout=timeout, decode_responses=True
    )
