from django.contrib import admin

from apps.objectives.admin import ReadOnlyAdmin
from apps.reviews.models import ManagementReview, ReviewDecision, ReviewJob, ReviewReport, ReviewSchedule


@admin.register(ReviewSchedule)
class ReviewScheduleAdmin(ReadOnlyAdmin):
    list_display = ["name", "active", "interval", "next_period_start", "next_run_at", "chair"]


@admin.register(ManagementReview)
class ManagementReviewAdmin(ReadOnlyAdmin):
    list_display = ["reference", "title", "period_start", "period_end", "status", "meeting_date"]
    list_filter = ["status"]
    search_fields = ["reference", "title"]


@admin.register(ReviewDecision)
class ReviewDecisionAdmin(ReadOnlyAdmin):
    list_display = ["review", "kind", "action", "created_at"]


@admin.register(ReviewJob)
class ReviewJobAdmin(ReadOnlyAdmin):
    list_display = ["pk", "review", "status", "attempts", "compile", "distribute", "created_at", "finished_at"]
    list_filter = ["status"]


@admin.register(ReviewReport)
class ReviewReportAdmin(ReadOnlyAdmin):
    list_display = ["review", "version", "pages", "size", "sha256", "generated_at"]
