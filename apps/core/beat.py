"""The beat scheduler (settings.CELERY_BEAT_SCHEDULER): each scheduled job is sent once per period
even when two beat processes run by mistake (a second container, a stale one left behind).

Before sending, a beat claims the entry's period in Redis (SET NX with an expiry): the period is
the interval's slot since the epoch for an interval entry, the minute for a crontab entry (its
resolution). The first beat to claim a slot sends the job; another beat firing the same entry
in that slot sends nothing. A single beat never fires an entry twice within one slot, so it is
never held back. Redis is the broker too: when it cannot be reached, nothing could be sent anyway.

Beat also leaves what /healthz and /metrics read of it: a heartbeat on every tick
(BEAT_HEARTBEAT_KEY; a tick comes at least every `max_interval` seconds) and, per entry, when
it last sent the job (the BEAT_LAST_SENT_KEY hash). The schedule file keeps that too, but only
on beat's own disk.
"""

from __future__ import annotations

import contextlib
import logging
import time
from datetime import timedelta

import redis
from celery.beat import PersistentScheduler, ScheduleEntry
from celery.schedules import crontab, schedule
from django.utils import timezone

from apps.core.redis_client import redis_client

logger = logging.getLogger(__name__)

KEY_PREFIX = "qms:beat"
CRONTAB_SLOT_SECONDS = 60
BEAT_HEARTBEAT_KEY = "qms:beat:heartbeat"
BEAT_LAST_SENT_KEY = "qms:beat:last-sent"
# Beat ticks at least every OncePerPeriodScheduler.max_interval: three missed ticks mean it stopped.
BEAT_HEARTBEAT_MAX_AGE = timedelta(minutes=3)
HEARTBEAT_EVERY_SECONDS = 10


def slot_seconds(entry: ScheduleEntry) -> int:
    """How long one period of `entry` lasts, for claiming it."""
    if isinstance(entry.schedule, schedule) and not isinstance(entry.schedule, crontab):
        return max(1, int(entry.schedule.run_every.total_seconds()))
    return CRONTAB_SLOT_SECONDS


def claim_slot(entry: ScheduleEntry, *, now: float | None = None) -> bool:
    """True when this beat is the first to fire `entry` in its current period."""
    seconds = slot_seconds(entry)
    slot = int((time.time() if now is None else now) // seconds)
    key = f"{KEY_PREFIX}:{entry.name}:{slot}"
    # Kept for two periods: long enough for any beat still firing this slot late.
    return bool(redis_client().set(key, "1", nx=True, ex=max(2 * seconds, 120)))


class OncePerPeriodScheduler(PersistentScheduler):
    # Celery's default lets beat sleep five minutes when nothing is due sooner; its heartbeat
    # must come more often than BEAT_HEARTBEAT_MAX_AGE.
    max_interval = 60

    _heartbeat_at = 0.0  # monotonic time of this beat's last heartbeat write

    def tick(self, *args, **kwargs) -> float:
        # Beat may tick many times a second when jobs fall due together; one write every few
        # seconds is plenty against a three-minute limit, and keeps the sends on time.
        if time.monotonic() - self._heartbeat_at >= HEARTBEAT_EVERY_SECONDS:
            try:
                redis_client().set(BEAT_HEARTBEAT_KEY, timezone.now().isoformat(), ex=24 * 60 * 60)
                self._heartbeat_at = time.monotonic()
            except (redis.RedisError, OSError) as error:
                # /healthz then reports beat missing, which is the truth as far as it can tell.
                logger.warning("beat could not write its heartbeat", extra={"error": type(error).__name__})
        return super().tick(*args, **kwargs)

    def apply_entry(self, entry: ScheduleEntry, producer=None) -> None:
        try:
            claimed = claim_slot(entry)
        except (redis.RedisError, OSError) as error:
            logger.warning(
                "beat could not claim a period; nothing sent",
                extra={"entry": entry.name, "error": type(error).__name__},
            )
            return
        if not claimed:
            logger.info("beat period already claimed by another beat", extra={"entry": entry.name})
            return
        super().apply_entry(entry, producer=producer)

    def apply_async(self, entry: ScheduleEntry, producer=None, advance=True, **kwargs):
        result = super().apply_async(entry, producer=producer, advance=advance, **kwargs)
        # Only after the message went out (Celery's apply_entry logs a failure and goes on).
        # Losing this write loses a metric, never the job.
        with contextlib.suppress(redis.RedisError, OSError):
            redis_client().hset(BEAT_LAST_SENT_KEY, entry.name, str(time.time()))
        return result
