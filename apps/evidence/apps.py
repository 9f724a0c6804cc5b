from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EvidenceConfig(AppConfig):
    """What auditors take away: the clause map and its heat map, integrity checks, evidence packs.
    Reads every domain app through apps.core.clauses; nothing imports it."""

    name = "apps.evidence"
    label = "evidence"
    verbose_name = _("Evidence")

    def ready(self) -> None:
        from apps.core import navigation

        navigation.register(
            navigation.Entry(
                label=_("Evidence by clause"),
                url_name="evidence:clause_map",
                permission="audit.view_evidence",
                order=910,
            )
        )
        navigation.register(
            navigation.Entry(
                label=_("Evidence packs"),
                url_name="evidence:pack_list",
                permission="audit.view_evidence",
                order=915,
            )
        )
        navigation.register(
            navigation.Entry(
                label=_("Integrity"),
                url_name="evidence:integrity",
                permission="audit.view_evidence",
                order=920,
            )
        )
