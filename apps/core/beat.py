"""The beat scheduler (settings.CELERY_BEAT_SCHEDULER): each scheduled job is sent once per period
even when two beat processes run by mistake (a second container, a stale one left behind).

Before sending, a beat claims the entry's period in Redis (SET NX with an expiry): the period is
the interval's slot since the epoch for an interval entry, the minute for a crontab entry (its
resolution). The first beat to claim a slot sends the job; another beat firing the same entry
in that slot sends nothing. A single beat never fires an entry twice within one slot, so it is
never held back. Redis is the broker too: when it cannot be reached, nothing could be sent anyway.
"""

from __future__ import annotations

import logging
import time

import redis
from celery.beat import PersistentScheduler, ScheduleEntry
from celery.schedules import crontab, schedule

from apps.core.redis_client import redis_client

logger = logging.getLogger(__name__)

KEY_PREFIX = "qms:beat"
CRONTAB_SLOT_SECONDS = 60


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
