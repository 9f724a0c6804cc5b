import django_filters
from django.contrib.contenttypes.models import ContentType
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import User
from apps.audit.models import AuditEntry
from apps.core import filters


class AuditEntryFilter(django_filters.FilterSet):
    since = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte", label=_("From"))
    until = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt", label=_("Until"))
    actor = django_filters.ModelChoiceFilter(queryset=User.objects.order_by("full_name"), label=_("User"))
    action = django_filters.ChoiceFilter(choices=AuditEntry.Action.choices, label=_("Action"))
    record_type = django_filters.ModelChoiceFilter(
        field_name="content_type",
        queryset=ContentType.objects.order_by("app_label", "model"),
        label=_("Record type"),
    )
    object_id = django_filters.CharFilter(label=_("Record id"))

    class Meta:
        model = AuditEntry
        fields = ["since", "until", "actor", "action", "record_type", "object_id"]
