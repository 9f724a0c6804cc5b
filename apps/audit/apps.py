from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "apps.audit"
    label = "audit"
    verbose_name = _("Audit trail")

    def ready(self) -> None:
        from apps.core import navigation

        navigation.register(
            navigation.Entry(
                label=_("Audit trail"),
                url_name="audit:entry_list",
                permission="audit.view_auditentry",
                order=900,
            )
        )

        from apps.core import clauses

        clauses.register(
            clauses.Evidence(
                clause="7.5",
                model="audit.auditentry",
                label=_("Audit-trail entries (changes to records)"),
                date_field="created_at",
                url_name="audit:entry_list",
            )
        )
