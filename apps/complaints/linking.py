"""Tie a complaint to the customer and contact it came from, and open a complaint from a
customer's page (#24). The shared part (match, form, panel) is apps.customers.linking.

Services, views and the panel live together here rather than in services.py / views.py:
the link is one small feature, and keeping it apart keeps those two busy files readable.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.complaints.forms import StaffComplaintForm
from apps.complaints.models import Complaint
from apps.complaints.views import ComplaintPostView, StaffComplaintCreateView
from apps.core.exceptions import BusinessRuleViolation
from apps.core.personal_data import can_see_personal_data
from apps.customers.linking import (
    ContactChoiceField,
    LinkCustomerForm,
    LinkPanel,
    link_arguments,
    link_panel,
    record_link_customer,
)
from apps.customers.models import Contact, Customer


@transaction.atomic
def complaint_link_customer(
    *, complaint_id: int, customer: Customer | None, contact: Contact | None, actor, reason: str = ""
) -> Complaint:
    """Point the complaint at `customer` / `contact` (None, None unlinks it).

    Whoever may change the complaint may link it (its handler, a quality manager), also once
    it is closed: the link attributes the record to a customer, it does not reopen handling.
    Locks the row; one audit entry with the before/after ids. Raises PermissionDenied, or
    ValidationError when the contact is not the customer's."""
    complaint = Complaint.objects.select_for_update().get(pk=complaint_id)
    if not complaint.can_be_changed_by(actor):
        raise PermissionDenied(_("You may not change this complaint."))
    return record_link_customer(record=complaint, customer=customer, contact=contact, actor=actor, reason=reason)


def link_panel_for(complaint: Complaint, user) -> LinkPanel | None:
    """The complaint page's panel (apps.core.panels): proposal from the complainant's e-mail."""
    return link_panel(complaint, user, email=complaint.complainant_email, url_name="complaints:complaint_link_customer")


class ComplaintLinkCustomerView(ComplaintPostView):
    """POST: link (or, with `unlink`, unlink) the complaint; back to its page with the outcome."""

    form_class = LinkCustomerForm
    success_message = gettext_lazy("Customer link saved.")

    def perform(self, complaint, data):
        try:
            complaint_link_customer(complaint_id=complaint.pk, actor=self.request.user, **link_arguments(data))
        except ValidationError as error:
            # The base view shows str(error): the sentence, not the field dictionary.
            raise BusinessRuleViolation(" ".join(error.messages)) from error


# --- open a complaint from a customer's page ---------------------------------------------------


class CustomerComplaintForm(StaffComplaintForm):
    """The staff complaint form for one customer: their contact instead of a typed name and address."""

    contact = ContactChoiceField(
        label=gettext_lazy("Contact"),
        queryset=Contact.objects.none(),
        required=False,
        empty_label=gettext_lazy("— someone else (type name and e-mail) —"),
    )
    field_order = ["channel", "contact"]

    def __init__(self, *args, customer: Customer, show_personal: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.customer = customer
        del self.fields["customer"]
        self.fields["customer_name"].widget = forms.HiddenInput()
        self.fields["contact"].queryset = Contact.objects.filter(
            customer=customer, erased_at__isnull=True, is_active=True
        ).order_by("id")
        self.fields["contact"].show_personal = show_personal
        for name in ("complainant_name", "complainant_email"):
            self.fields[name].required = False
            self.fields[name].help_text = _("Leave empty to use the contact's.")

    def clean(self):
        data = super().clean()
        contact = data.get("contact")
        for name, attribute in (("complainant_name", "name"), ("complainant_email", "email")):
            if not data.get(name) and contact is not None:
                data[name] = getattr(contact, attribute)
            if not data.get(name) and name not in self.errors:
                self.add_error(name, _("Choose a contact or fill this in."))
        data["customer"] = self.customer
        data["customer_name"] = self.customer.name
        return data


class CustomerComplaintCreateView(StaffComplaintCreateView):
    """Record a complaint for the customer whose page the user came from (pre-filled, with a contact choice)."""

    form_class = CustomerComplaintForm

    template_name = "complaints/complaint_record_customer.html"

    def dispatch(self, request, *args, **kwargs):
        # The permission first: without it the answer is the same whether or not the customer exists.
        if not self.has_permission():
            return self.handle_no_permission()
        self.customer = get_object_or_404(Customer, pk=kwargs["customer_pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {
            **super().get_form_kwargs(),
            "customer": self.customer,
            "show_personal": can_see_personal_data(self.request.user),
        }

    def get_context_data(self, **kwargs):
        return super().get_context_data(customer=self.customer, **kwargs)

    def way_back(self) -> str:
        return reverse("customers:customer_detail", args=[self.customer.pk])
