"""Customer pages: thin views over forms, selectors and services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import FormView, TemplateView
from django_filters.views import FilterView

from apps.accounts.roles import Role
from apps.audit.selectors import history_for
from apps.core import panels
from apps.core.exceptions import BusinessRuleViolation
from apps.core.pagination import KeysetPaginationMixin
from apps.core.views import ServiceFormMixin
from apps.customers import imports, selectors, services
from apps.customers.filters import CustomerFilter, ProductFilter
from apps.customers.forms import (
    ContactEraseForm,
    ContactForm,
    ContactUpdateForm,
    CustomerForm,
    CustomerImportForm,
    CustomerUpdateForm,
    FollowUpFormSet,
    InteractionForm,
    ProductForm,
)
from apps.customers.models import Contact, Customer, FollowUpAction, Product


def customer_url(pk: int) -> str:
    return reverse("customers:customer_detail", kwargs={"pk": pk})


class ObjectMixin:
    """Loads `self.object` after the permission check (PermissionRequiredMixin comes first in the bases),
    so a user without the permission gets 403 whether or not the id exists."""

    model: type
    pk_url_kwarg = "pk"

    def get_object_queryset(self):
        return self.model.objects.all()

    def dispatch(self, request, *args, **kwargs):
        self.object = get_object_or_404(self.get_object_queryset(), pk=kwargs[self.pk_url_kwarg])
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(**{"object": self.object, **kwargs})


# Customers ---------------------------------------------------------------------------


class CustomerListView(PermissionRequiredMixin, KeysetPaginationMixin, FilterView):
    """Customers, filtered by status, type, segment, country and account owner; searchable by name."""

    permission_required = "customers.view_customer"
    filterset_class = CustomerFilter
    template_name = "customers/customer_list.html"
    paginate_by = 25
    keyset_ordering = ("name", "id")
    keyset_total = True

    def get_queryset(self):
        return selectors.customer_list()


class CustomerCreateView(PermissionRequiredMixin, ServiceFormMixin, FormView):
    permission_required = "customers.add_customer"
    template_name = "customers/customer_form.html"
    form_class = CustomerForm

    def perform(self, form):
        customer = services.customer_create(actor=self.request.user, **form.cleaned_data)
        messages.success(self.request, _("Customer created."))
        return customer

    def success_url_for(self, customer) -> str:
        return customer_url(customer.pk)


class CustomerUpdateView(PermissionRequiredMixin, ObjectMixin, ServiceFormMixin, FormView):
    permission_required = "customers.change_customer"
    template_name = "customers/customer_form.html"
    form_class = CustomerUpdateForm
    model = Customer

    def get_initial(self):
        initial = {name: getattr(self.object, name) for name in services.CUSTOMER_FIELDS}
        initial["products"] = list(self.object.products.all())
        return initial

    def perform(self, form):
        data = dict(form.cleaned_data)
        reason = data.pop("reason")
        customer = services.customer_update(customer_id=self.object.pk, actor=self.request.user, reason=reason, **data)
        messages.success(self.request, _("Changes saved."))
        return customer

    def success_url_for(self, customer) -> str:
        return customer_url(customer.pk)


class CustomerDetailView(PermissionRequiredMixin, ObjectMixin, TemplateView):
    """The customer 360: facts, contacts, interactions and follow-ups, requirements, history."""

    permission_required = "customers.view_customer"
    template_name = "customers/customer_detail.html"
    model = Customer

    def get_object_queryset(self):
        return Customer.objects.select_related("account_owner")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        customer = self.object
        context.update(
            customer=customer,
            contacts=selectors.contacts_for(customer) if user.has_perm("customers.view_contact") else [],
            interactions=selectors.interactions_for(customer) if user.has_perm("customers.view_interaction") else [],
            panels=panels.panels_for("customer", customer, user),
            history=history_for(customer),
            today=timezone.localdate(),
            completes_any_follow_up=user.has_perm("customers.change_followupaction")
            and user.has_role(Role.QUALITY_MANAGER),
        )
        return context


# Contacts ----------------------------------------------------------------------------


class ContactCreateView(PermissionRequiredMixin, ObjectMixin, ServiceFormMixin, FormView):
    permission_required = "customers.add_contact"
    template_name = "customers/contact_form.html"
    form_class = ContactForm
    model = Customer
    pk_url_kwarg = "customer_pk"

    def get_context_data(self, **kwargs):
        return super().get_context_data(customer=self.object, **kwargs)

    def perform(self, form):
        contact = services.contact_create(customer_id=self.object.pk, actor=self.request.user, **form.cleaned_data)
        messages.success(self.request, _("Contact added."))
        return contact

    def success_url_for(self, contact) -> str:
        return customer_url(contact.customer_id)


class ContactUpdateView(PermissionRequiredMixin, ObjectMixin, ServiceFormMixin, FormView):
    """Edit a contact's details; holders of `erase_contact` also find the erasure form here."""

    permission_required = "customers.change_contact"
    template_name = "customers/contact_form.html"
    form_class = ContactUpdateForm
    model = Contact

    def get_object_queryset(self):
        return Contact.objects.select_related("customer")

    def get(self, request, *args, **kwargs):
        if self.object.erased_at is not None:
            return self._refuse_erased()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        if self.object.erased_at is not None:
            return self._refuse_erased()
        return super().post(request, *args, **kwargs)

    def _refuse_erased(self):
        messages.error(self.request, _("This contact's personal data was erased; it cannot be edited."))
        return redirect(customer_url(self.object.customer_id))

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "contact_id": self.object.pk}

    def get_initial(self):
        contact = self.object
        return {
            "name": contact.name,
            "email": contact.email,
            "phone": contact.phone,
            **{name: getattr(contact, name) for name in services.CONTACT_FIELDS},
        }

    def get_context_data(self, **kwargs):
        context = super().get_context_data(customer=self.object.customer, contact=self.object, **kwargs)
        if self.request.user.has_perm("customers.erase_contact"):
            context.setdefault("erase_form", ContactEraseForm())
        return context

    def perform(self, form):
        data = dict(form.cleaned_data)
        reason = data.pop("reason")
        contact = services.contact_update(contact_id=self.object.pk, actor=self.request.user, reason=reason, **data)
        messages.success(self.request, _("Contact saved."))
        return contact

    def success_url_for(self, contact) -> str:
        return customer_url(contact.customer_id)


class ContactEraseView(PermissionRequiredMixin, ObjectMixin, FormView):
    """Erase a contact's personal data on request (POST only; the form lives on the contact's edit page)."""

    permission_required = "customers.erase_contact"
    http_method_names = ["post"]
    template_name = "customers/contact_erase.html"
    form_class = ContactEraseForm
    model = Contact

    def get_context_data(self, **kwargs):
        return super().get_context_data(contact=self.object, customer=self.object.customer, **kwargs)

    def form_valid(self, form):
        try:
            services.contact_erase(
                contact_id=self.object.pk, actor=self.request.user, reason=form.cleaned_data["reason"]
            )
        except BusinessRuleViolation as error:
            form.add_error(None, str(error))
            return self.form_invalid(form)
        messages.success(self.request, _("The contact's personal data was erased."))
        return redirect(customer_url(self.object.customer_id))


class ContactExportView(PermissionRequiredMixin, ObjectMixin, View):
    """Everything held about a contact, as a JSON download (subject-access request); audited."""

    permission_required = "customers.export_contact"
    model = Contact

    def get(self, request, *args, **kwargs):
        data = services.contact_export_recorded(contact_id=self.object.pk, actor=request.user)
        response = JsonResponse(data, json_dumps_params={"indent": 2, "ensure_ascii": False})
        response["Content-Disposition"] = f'attachment; filename="contact-{self.object.pk}.json"'
        response["Cache-Control"] = "no-store"
        return response


# Interactions and follow-ups ---------------------------------------------------------


class InteractionCreateView(PermissionRequiredMixin, ObjectMixin, FormView):
    """Log an interaction with contacts of this customer, staff involved and up to three follow-ups."""

    permission_required = ("customers.add_interaction", "customers.add_followupaction")
    template_name = "customers/interaction_form.html"
    form_class = InteractionForm
    model = Customer
    pk_url_kwarg = "customer_pk"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "customer": self.object}

    def get_initial(self):
        return {"occurred_at": timezone.localtime().replace(second=0, microsecond=0), "staff": [self.request.user]}

    def get_formset(self):
        data = self.request.POST if self.request.method == "POST" else None
        return FollowUpFormSet(data, prefix="follow_ups")

    def get_context_data(self, **kwargs):
        kwargs.setdefault("formset", self.get_formset())
        return super().get_context_data(customer=self.object, **kwargs)

    def post(self, request, *args, **kwargs):
        form = self.get_form()
        formset = self.get_formset()
        if not (form.is_valid() and formset.is_valid()):
            return self.render_to_response(self.get_context_data(form=form, formset=formset))
        data = form.cleaned_data
        follow_ups = [f.cleaned_data for f in formset.forms if f.has_changed() and f.cleaned_data]
        try:
            services.interaction_log(
                customer_id=self.object.pk,
                actor=request.user,
                occurred_at=data["occurred_at"],
                channel=data["channel"],
                summary=data["summary"],
                contact_ids=[contact.pk for contact in data["contacts"]],
                staff_ids=[user.pk for user in data["staff"]],
                follow_ups=follow_ups,
            )
        except BusinessRuleViolation as error:
            form.add_error(None, str(error))
            return self.render_to_response(self.get_context_data(form=form, formset=formset))
        messages.success(request, _("Interaction logged."))
        return redirect(customer_url(self.object.pk))


class FollowUpCompleteView(PermissionRequiredMixin, ObjectMixin, View):
    """Mark a follow-up done: its owner may, and any quality manager (POST only)."""

    permission_required = "customers.change_followupaction"
    http_method_names = ["post"]
    model = FollowUpAction

    def get_object_queryset(self):
        return FollowUpAction.objects.select_related("interaction")

    def post(self, request, *args, **kwargs):
        if not services.follow_up_may_complete(user=request.user, follow_up=self.object):
            raise PermissionDenied
        services.follow_up_complete(follow_up_id=self.object.pk, actor=request.user)
        messages.success(request, _("Follow-up marked as done."))
        return redirect(customer_url(self.object.interaction.customer_id))


# Products ----------------------------------------------------------------------------


class ProductListView(PermissionRequiredMixin, KeysetPaginationMixin, FilterView):
    permission_required = "customers.view_product"
    filterset_class = ProductFilter
    template_name = "customers/product_list.html"
    paginate_by = 50
    keyset_ordering = ("name", "id")

    def get_queryset(self):
        return selectors.products()


class ProductCreateView(PermissionRequiredMixin, ServiceFormMixin, FormView):
    permission_required = "customers.add_product"
    template_name = "customers/product_form.html"
    form_class = ProductForm

    def perform(self, form):
        product = services.product_create(actor=self.request.user, **form.cleaned_data)
        messages.success(self.request, _("Product or service created."))
        return product

    def success_url_for(self, product) -> str:
        return reverse("customers:product_list")


class ProductUpdateView(PermissionRequiredMixin, ObjectMixin, ServiceFormMixin, FormView):
    permission_required = "customers.change_product"
    template_name = "customers/product_form.html"
    form_class = ProductForm
    model = Product

    def get_form_kwargs(self):
        # A separate instance: the ModelForm writes cleaned values onto it while validating.
        return {**super().get_form_kwargs(), "instance": Product.objects.get(pk=self.object.pk)}

    def get_context_data(self, **kwargs):
        return super().get_context_data(product=self.object, history=history_for(self.object), **kwargs)

    def perform(self, form):
        product = services.product_update(product_id=self.object.pk, actor=self.request.user, **form.cleaned_data)
        messages.success(self.request, _("Changes saved."))
        return product

    def success_url_for(self, product) -> str:
        return reverse("customers:product_list")


# Import ------------------------------------------------------------------------------


class CustomerImportView(PermissionRequiredMixin, FormView):
    """Upload customers and contacts from a CSV file: every row checked first, then all or nothing."""

    permission_required = ("customers.add_customer", "customers.add_contact")
    template_name = "customers/customer_import.html"
    form_class = CustomerImportForm

    def get_context_data(self, **kwargs):
        return super().get_context_data(columns=imports.COLUMNS, max_rows=imports.MAX_ROWS, **kwargs)

    def form_valid(self, form):
        result = imports.import_customers(upload=form.cleaned_data["file"], actor=self.request.user)
        if result.errors:
            return self.render_to_response(self.get_context_data(form=form, errors=result.errors))
        messages.success(
            self.request,
            _("Imported %(created)d new customers (%(reused)d existing reused) and %(contacts)d contacts.")
            % {
                "created": result.customers_created,
                "reused": result.customers_reused,
                "contacts": result.contacts_created,
            },
        )
        return redirect("customers:customer_list")
