"""Security events of sign-in that operators must see in the logs."""

from __future__ import annotations

import logging

from axes.signals import user_locked_out
from django.dispatch import receiver

from apps.accounts.models import User

logger = logging.getLogger("apps.accounts.security")


@receiver(user_locked_out, dispatch_uid="accounts.log_lockout")
def log_lockout(sender, request, username, ip_address, **kwargs) -> None:
    """Name the account by its id, never by its address (axes masks both in its own line)."""
    account = User.objects.filter(email__iexact=username or "").values_list("pk", flat=True).first()
    logger.warning(
        "Sign-in locked out after repeated failures",
        extra={"account_id": account, "path": request.path if request else "", "event": "login_locked_out"},
    )
