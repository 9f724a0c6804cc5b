"""The clause map: which records evidence which ISO clause (ISO 9001 7.5, ISO 10002).

The clauses are the product's own list (DESIGN.md); which record types evidence them is
declared by each app in its AppConfig.ready(), so an app added later plugs in without
editing the evidence app, and core imports no domain app:

    from apps.core import clauses
    clauses.register(clauses.Evidence(clause="10.2", model="actions.correctiveaction",
                                      label=_("Corrective actions raised"), date_field="created_at"))

The auditor's clause map, its heat map and the evidence packs all read this one declaration.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from django.apps import apps
from django.db.models import Model, QuerySet
from django.utils.translation import gettext_lazy as _

CLAUSES: dict[str, str] = {
    "5.1.2": _("Customer focus"),
    "6.2": _("Quality objectives and planning to achieve them"),
    "7.5": _("Documented information"),
    "8.2.1": _("Customer communication"),
    "8.2.2": _("Determining the requirements for products and services"),
    "8.2.3": _("Review of the requirements for products and services"),
    "8.2.4": _("Changes to requirements for products and services"),
    "9.1.2": _("Customer satisfaction"),
    "9.1.3": _("Analysis and evaluation"),
    "9.3": _("Management review"),
    "10.2": _("Nonconformity and corrective action"),
    "ISO 10002": _("Complaints handling"),
}


@dataclass(frozen=True)
class Evidence:
    clause: str
    model: str  # "app_label.modelname"
    label: str  # what the records are, as an auditor reads it
    # Dates each record into a period: the business date of what the record evidences (received,
    # responded, closed, held), never the day it was typed in, so back-filled records count in
    # the month they happened. A DateTimeField or a DateField, possibly across one relation
    # ("review__held_on").
    date_field: str
    url_name: str = ""  # the list an auditor opens to see these records
    # Narrows the model's rows to those that evidence the clause (e.g. only reviewed requirements).
    restrict: Callable[[QuerySet], QuerySet] | None = None

    @property
    def key(self) -> str:
        return f"{self.clause}:{self.model}:{self.label}"

    def model_class(self) -> type[Model]:
        return apps.get_model(self.model)

    def queryset(self) -> QuerySet:
        queryset = self.model_class()._default_manager.all()
        return self.restrict(queryset) if self.restrict else queryset

    def dated_by_day(self) -> bool:
        """Whether date_field is a DateField (a local day) rather than a moment."""
        model = self.model_class()
        *relations, name = self.date_field.split("__")
        for relation in relations:
            model = model._meta.get_field(relation).related_model
        return model._meta.get_field(name).get_internal_type() == "DateField"


_evidence: dict[str, Evidence] = {}


def register(evidence: Evidence) -> None:
    if evidence.clause not in CLAUSES:
        raise ValueError(f"Unknown clause {evidence.clause!r}; add it to apps.core.clauses.CLAUSES first.")
    _evidence[evidence.key] = evidence


def evidence_for(clause: str) -> list[Evidence]:
    return [evidence for evidence in _evidence.values() if evidence.clause == clause]


def all_evidence() -> list[Evidence]:
    order = list(CLAUSES)
    return sorted(_evidence.values(), key=lambda e: (order.index(e.clause), e.model, str(e.label)))


def view_permissions(clause_ids) -> frozenset[str]:
    """The view permissions of every record type evidencing one of these clauses."""
    wanted = set(clause_ids)
    permissions = set()
    for evidence in _evidence.values():
        if evidence.clause in wanted:
            meta = evidence.model_class()._meta
            permissions.add(f"{meta.app_label}.view_{meta.model_name}")
    return frozenset(permissions)


# Documents (not rows) that evidence a clause, e.g. management-review reports for 9.3:
# provider(first_day, last_day) yields {"name", "title", "content": bytes} for the period.
DocumentProvider = Callable[[date, date], Iterable[dict]]
_documents: dict[str, list[DocumentProvider]] = {}


def register_documents(clause: str, provider: DocumentProvider) -> None:
    if clause not in CLAUSES:
        raise ValueError(f"Unknown clause {clause!r}.")
    if provider not in _documents.setdefault(clause, []):
        _documents[clause].append(provider)


def documents_for(clause: str) -> list[DocumentProvider]:
    return list(_documents.get(clause, []))
