"""Account tasks: thin, ids only."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="accounts.send_password_reset", acks_late=True)
def send_password_reset_task(user_id: int | None, request_key: str) -> None:
    """Queue the reset e-mail a request asked for. `user_id` is None when the address has no
    account that may reset (or was over its limit): the request queued this task all the same,
    so that it did the same work either way, and there is nothing to do."""
    if user_id is None:
        return
    from apps.accounts.services import user_send_password_reset  # services import this module

    user_send_password_reset(user_id=user_id, request_key=request_key)
