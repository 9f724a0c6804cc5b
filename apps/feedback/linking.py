"""Tie feedback to the customer and contact it came from (#24). The shared part (match, form,
panel) is apps.customers.linking; the service and its page step live here, apart from the
busy services.py and views.py."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from apps.customers.linking import LinkCustomerForm, LinkPanel, link_arguments, link_panel, record_link_customer
from apps.customers.models import Contact, Customer
from apps.feedback.models import CHANGE_PERMISSION, Feedback
from apps.feedback.views import FeedbackPostView


@transaction.atomic
def feedback_link_customer(
    *, feedback_id: int, customer: Customer | None, contact: Contact | None, actor, reason: str = ""
) -> Feedback:
    """Point the feedback at `customer` / `contact` (None, None unlinks it).

    Whoever may change the feedback may link it (its owner, a quality manager), closed or not:
    attributing it to a customer is not handling it. Locks the row; one audit entry with the
    before/after ids. Raises PermissionDenied, or ValidationError when the contact is not the
    customer's."""
    feedback = Feedback.objects.select_for_update().get(pk=feedback_id)
    if not feedback.can_be_changed_by(actor):
        raise PermissionDenied(_("You may not change this feedback."))
    return record_link_customer(record=feedback, customer=customer, contact=contact, actor=actor, reason=reason)


def link_panel_for(feedback: Feedback, user) -> LinkPanel | None:
    """The feedback page's panel (apps.core.panels): proposal from the submitter's e-mail."""
    return link_panel(feedback, user, email=feedback.submitter_email, url_name="feedback:feedback_link_customer")


class FeedbackLinkCustomerView(FeedbackPostView):
    """POST: link (or, with `unlink`, unlink) the feedback; back to its page with the outcome."""

    permission_required = CHANGE_PERMISSION

    def check_object(self) -> None:
        if not self.feedback.can_be_changed_by(self.request.user):
            raise PermissionDenied

    def post(self, request, *args, **kwargs):
        form = LinkCustomerForm(request.POST)
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
            return self.back()
        return self.run(
            lambda: feedback_link_customer(
                feedback_id=self.feedback.pk, actor=request.user, **link_arguments(form.cleaned_data)
            ),
            _("Customer link saved."),
        )
