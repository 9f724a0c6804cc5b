from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewsConfig(AppConfig):
    """Management reviews (ISO 9001 9.3). Reads the domain apps; nothing imports it."""

    name = "apps.reviews"
    label = "reviews"
    verbose_name = _("Management reviews")

    def ready(self) -> None:
        from apps.core import clauses, navigation
        from apps.reviews.selectors import report_documents

        navigation.register(
            navigation.Entry(
                label=_("Management reviews"),
                url_name="reviews:review_list",
                permission="reviews.view_managementreview",
                order=320,
            )
        )
        clauses.register(
            clauses.Evidence(
                clause="9.3",
                model="reviews.managementreview",
                label=_("Management reviews held"),
                date_field="held_on",
                url_name="reviews:review_list",
                restrict=lambda queryset: queryset.filter(status__in=["held", "closed"]),
            )
        )
        clauses.register(
            clauses.Evidence(
                clause="9.3",
                model="reviews.reviewdecision",
                label=_("Management-review decisions (9.3.3)"),
                # Decided at the meeting, whenever they were typed in.
                date_field="review__held_on",
                url_name="reviews:review_list",
            )
        )
        clauses.register(
            clauses.Evidence(
                clause="9.3",
                model="reviews.reviewreport",
                label=_("Management-review reports generated"),
                date_field="generated_at",
                url_name="reviews:review_list",
            )
        )
        clauses.register_documents("9.3", report_documents)
