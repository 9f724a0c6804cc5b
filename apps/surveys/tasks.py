"""Survey dispatch tasks: thin, idempotent, ids in, call apps.surveys.services.dispatch.

`surveys.tick` runs every minute from beat (settings.CELERY_BEAT_SCHEDULE): it claims due
campaigns, restarts waves whose preparation was lost, plans the next minute of send
batches and closes waves. The other tasks are queued by those services after their
transaction commits; each finds its work done (and returns quietly) when run twice, so a
duplicate message or a retry never sends an e-mail twice. No autoretry: the next tick
plans whatever is left.
"""

from __future__ import annotations

from celery import shared_task

from apps.surveys.services.dispatch import BATCH_TIME_LIMIT


@shared_task(name="surveys.tick")
def tick_task() -> dict:
    from apps.surveys.services.dispatch import dispatch_tick

    result = dispatch_tick()
    return {key: len(value) if isinstance(value, list) else value for key, value in result.items()}


@shared_task(name="surveys.prepare_wave", time_limit=BATCH_TIME_LIMIT * 3, soft_time_limit=BATCH_TIME_LIMIT * 3 - 30)
def prepare_wave_task(wave_id: int) -> int:
    from apps.surveys.services.dispatch import wave_prepare

    return wave_prepare(wave_id=wave_id)


@shared_task(name="surveys.send_invitations", time_limit=BATCH_TIME_LIMIT, soft_time_limit=BATCH_TIME_LIMIT - 30)
def send_invitations_task(wave_id: int, limit: int) -> int:
    from apps.surveys.services.dispatch import wave_send_invitations

    return wave_send_invitations(wave_id=wave_id, limit=limit).sent


@shared_task(name="surveys.send_reminders", time_limit=BATCH_TIME_LIMIT, soft_time_limit=BATCH_TIME_LIMIT - 30)
def send_reminders_task(wave_id: int, limit: int) -> int:
    from apps.surveys.services.dispatch import wave_send_reminders

    return wave_send_reminders(wave_id=wave_id, limit=limit).sent
