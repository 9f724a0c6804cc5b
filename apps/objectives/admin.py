from django.contrib import admin

from apps.objectives.models import Measurement, PerformanceChange, QualityObjective


class ReadOnlyAdmin(admin.ModelAdmin):
    """Changes go through the services (audit trail); the admin only reads."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(QualityObjective)
class QualityObjectiveAdmin(ReadOnlyAdmin):
    list_display = ["reference", "title", "status", "performance", "owner", "target_date"]
    list_filter = ["status", "performance", "kpi_kind"]
    search_fields = ["reference", "title"]


@admin.register(Measurement)
class MeasurementAdmin(ReadOnlyAdmin):
    list_display = ["objective", "period_start", "period_end", "value", "source", "recorded_at"]
    list_filter = ["source"]


@admin.register(PerformanceChange)
class PerformanceChangeAdmin(ReadOnlyAdmin):
    list_display = ["objective", "number", "from_performance", "to_performance", "changed_at"]
