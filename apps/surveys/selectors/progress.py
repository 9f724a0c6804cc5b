"""How far a campaign or a wave has got: invitations made, sent, failed, skipped, reminded,
answered. One aggregate query over Invitation each, cheap enough for the page to poll."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from apps.surveys.models import Invitation, InvitationStatus, Wave

# Each count is the invitations matching these lookups (None: all of them).
FILTERS: dict[str, dict | None] = {
    "invited": None,
    "sent": {"status": InvitationStatus.SENT},
    "failed": {"status": InvitationStatus.FAILED},
    "skipped": {"status": InvitationStatus.SKIPPED},
    "reminded": {"reminders_sent__gt": 0},
    "responded": {"responded_at__isnull": False},
}
KEYS = (*FILTERS, "response_rate")


def _counts(prefix: str = "") -> dict[str, Count]:
    return {
        name: Count(
            f"{prefix}id", filter=Q(**{prefix + key: value for key, value in lookups.items()}) if lookups else None
        )
        for name, lookups in FILTERS.items()
    }


def _with_rate(counts: dict) -> dict:
    """Adds response_rate: responded / sent, None while nothing was sent (no rate yet, not 0)."""
    counts["response_rate"] = counts["responded"] / counts["sent"] if counts["sent"] else None
    return counts


def campaign_progress(campaign_id: int) -> dict:
    """{invited, sent, failed, skipped, reminded, responded, response_rate} over every wave."""
    return _with_rate(Invitation.objects.filter(campaign_id=campaign_id).aggregate(**_counts()))


def wave_progress(wave_id: int) -> dict:
    """The same counts for one wave."""
    return _with_rate(Invitation.objects.filter(wave_id=wave_id).aggregate(**_counts()))


def waves_with_progress(campaign_id: int) -> QuerySet[Wave]:
    """The campaign's waves, newest first, each annotated with the counts and `response_rate`
    (one query for the whole table)."""
    waves = Wave.objects.filter(campaign_id=campaign_id).annotate(**_counts("invitations__")).order_by("-number")
    return waves


def rate_of(wave: Wave) -> float | None:
    """Response rate of a wave annotated by waves_with_progress (same rule as campaign_progress)."""
    return wave.responded / wave.sent if wave.sent else None
