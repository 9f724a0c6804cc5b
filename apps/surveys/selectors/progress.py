"""How far a campaign or a wave has got: invitations made, sent, failed, skipped, reminded,
answered. One aggregate query over Invitation each, cheap enough for the page to poll.

`response_rate` is the one rule for the rate and `format_rate` the one way it is shown."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.utils.formats import number_format

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


def response_rate(responded: int, sent: int) -> float | None:
    """The response rate: responded / sent, None while nothing was sent (no rate yet, not 0)."""
    return responded / sent if sent else None


def format_rate(rate: float | None) -> str:
    """A response rate as people read it, in the active language's number format
    ("50.0 %", "50,0 %"); a dash while there is none."""
    if rate is None:
        return "—"
    return f"{number_format(rate * 100, decimal_pos=1, use_l10n=True)} %"


def _with_rate(counts: dict) -> dict:
    counts["response_rate"] = response_rate(counts["responded"], counts["sent"])
    return counts


def campaign_progress(campaign_id: int) -> dict:
    """{invited, sent, failed, skipped, reminded, responded, response_rate} over every wave."""
    return _with_rate(Invitation.objects.filter(campaign_id=campaign_id).aggregate(**_counts()))


def waves_with_progress(campaign_id: int) -> QuerySet[Wave]:
    """The campaign's waves, newest first, each annotated with the counts and `response_rate`
    (one query for the whole table)."""
    waves = Wave.objects.filter(campaign_id=campaign_id).annotate(**_counts("invitations__")).order_by("-number")
    return waves


def rate_of(wave: Wave) -> float | None:
    """Response rate of a wave annotated by waves_with_progress (same rule as campaign_progress)."""
    return response_rate(wave.responded, wave.sent)
