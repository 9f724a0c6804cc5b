"""Input serializers validate requests; output serializers list their fields. Neither saves: views call services."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries import countries
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from apps.core.api import fields as bounded
from apps.core.personal_data import MaskedPersonalFields
from apps.customers.forms import MAX_FOLLOW_UPS, language_validator, phone_validator
from apps.customers.models import Contact, Customer, FollowUpAction, Interaction, Product
from apps.customers.selectors import assignable_users

# Output ------------------------------------------------------------------------------


class CustomerSerializer(serializers.ModelSerializer):
    country = serializers.CharField(source="country.code", read_only=True)

    class Meta:
        model = Customer
        fields = [
            "id",
            "name",
            "kind",
            "segment",
            "industry",
            "country",
            "account_owner",
            "status",
            "notes",
            "products",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ContactSerializer(MaskedPersonalFields, serializers.ModelSerializer):
    """Personal fields decrypted for users who may see personal data, "[personal data]" for
    everyone else; null once the contact was erased."""

    name = serializers.SerializerMethodField()
    email = serializers.SerializerMethodField()
    phone = serializers.SerializerMethodField()
    erased = serializers.SerializerMethodField()
    # "" while the contact has not consented. Declared because DRF drops allow_blank from read-only
    # model fields, and the schema then refused it.
    survey_consent_source = serializers.ChoiceField(
        choices=Contact.ConsentSource.choices, allow_blank=True, read_only=True
    )

    class Meta:
        model = Contact
        fields = [
            "id",
            "customer",
            "name",
            "email",
            "phone",
            "job_role",
            "preferred_language",
            "survey_consent",
            "survey_consent_at",
            "survey_consent_source",
            "is_active",
            "erased",
            "erased_at",
            "last_activity_at",
            "created_at",
        ]
        read_only_fields = fields

    def _personal(self, contact: Contact, name: str) -> str | None:
        return None if contact.erased_at is not None else getattr(contact, name)

    def get_name(self, contact: Contact) -> str | None:
        return self._personal(contact, "name")

    def get_email(self, contact: Contact) -> str | None:
        return self._personal(contact, "email")

    def get_phone(self, contact: Contact) -> str | None:
        return self._personal(contact, "phone")

    def get_erased(self, contact: Contact) -> bool:
        return contact.erased_at is not None


class ProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["id", "code", "name", "kind", "description", "is_active", "created_at", "updated_at"]
        read_only_fields = fields


class FollowUpSerializer(serializers.ModelSerializer):
    class Meta:
        model = FollowUpAction
        fields = ["id", "description", "owner", "due_date", "done_at"]
        read_only_fields = fields


class InteractionSerializer(serializers.ModelSerializer):
    contacts = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    staff = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    follow_ups = FollowUpSerializer(many=True, read_only=True)

    class Meta:
        model = Interaction
        fields = [
            "id",
            "customer",
            "occurred_at",
            "channel",
            "summary",
            "contacts",
            "staff",
            "follow_ups",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


# Input -------------------------------------------------------------------------------
# Each input serializer is documented under its resource's name, so the schema calls the request
# bodies "CustomerRequest" / "PatchedCustomerRequest" like a ModelSerializer's, and the two "kind"
# choice sets (customer, product) each belong to one component instead of colliding.


@extend_schema_serializer(component_name="Customer")
class CustomerInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=Customer.Kind.choices, default=Customer.Kind.ORGANISATION)
    segment = serializers.CharField(max_length=80, allow_blank=True, default="")
    industry = serializers.CharField(max_length=80, allow_blank=True, default="")
    country = serializers.ChoiceField(choices=list(countries), allow_blank=True, default="")
    account_owner = serializers.PrimaryKeyRelatedField(
        queryset=assignable_users(), allow_null=True, default=None, help_text=_("An active quality manager or staff.")
    )
    status = serializers.ChoiceField(choices=Customer.Status.choices, default=Customer.Status.ACTIVE)
    notes = serializers.CharField(allow_blank=True, default="")
    products = serializers.PrimaryKeyRelatedField(
        queryset=Product.objects.filter(is_active=True), many=True, required=False
    )


@extend_schema_serializer(component_name="Customer")
class CustomerUpdateSerializer(CustomerInputSerializer):
    reason = serializers.CharField(max_length=500, allow_blank=True, default="", write_only=True)


class ContactInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    email = serializers.EmailField(max_length=254, allow_blank=True, default="")
    phone = serializers.CharField(max_length=40, allow_blank=True, default="", validators=[phone_validator])
    job_role = serializers.CharField(max_length=120, allow_blank=True, default="")
    preferred_language = serializers.CharField(
        max_length=10, allow_blank=True, default="", validators=[language_validator]
    )
    survey_consent = serializers.BooleanField(default=False)
    survey_consent_source = serializers.ChoiceField(choices=Contact.ConsentSource.choices, allow_blank=True, default="")

    def validate_email(self, email: str) -> str:
        email = email.strip().lower()
        contact = self.context.get("contact")
        clashes = Contact.objects.with_email(email) if email else Contact.objects.none()
        if contact is not None:
            clashes = clashes.exclude(pk=contact.pk)
        if clashes.exists():
            raise serializers.ValidationError(_("A contact with this e-mail address already exists."))
        return email

    def validate(self, attrs: dict) -> dict:
        contact = self.context.get("contact")
        consent = attrs.get("survey_consent", contact.survey_consent if contact else False)
        source = attrs.get("survey_consent_source", contact.survey_consent_source if contact else "")
        if consent and not source:
            raise serializers.ValidationError({"survey_consent_source": [_("Say how the contact gave consent.")]})
        if "survey_consent" in attrs and not consent:
            attrs["survey_consent_source"] = ""
        return attrs


@extend_schema_serializer(component_name="Contact")
class ContactCreateSerializer(ContactInputSerializer):
    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.all())


@extend_schema_serializer(component_name="Contact")
class ContactUpdateSerializer(ContactInputSerializer):
    is_active = serializers.BooleanField(required=False)
    reason = serializers.CharField(max_length=500, allow_blank=True, default="", write_only=True)


class ContactEraseSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class LinkCustomerInputSerializer(serializers.Serializer):
    """Tie a complaint or feedback to a customer and contact (apps.customers.linking); `customer`
    null (and no contact) unlinks it, a contact alone implies its customer."""

    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.all(), allow_null=True)
    contact = serializers.PrimaryKeyRelatedField(queryset=Contact.objects.all(), allow_null=True, default=None)
    reason = serializers.CharField(max_length=1000, allow_blank=True, default="")


@extend_schema_serializer(component_name="Product")
class ProductInputSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=40)
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=Product.Kind.choices, default=Product.Kind.PRODUCT)
    description = serializers.CharField(allow_blank=True, default="")
    is_active = serializers.BooleanField(default=True)


@extend_schema_serializer(component_name="FollowUp")
class FollowUpInputSerializer(serializers.Serializer):
    description = serializers.CharField(max_length=300)
    owner = serializers.PrimaryKeyRelatedField(queryset=assignable_users())
    due_date = bounded.DateField()


@extend_schema_serializer(component_name="Interaction")
class InteractionInputSerializer(serializers.Serializer):
    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.all())
    occurred_at = bounded.DateTimeField()
    channel = serializers.ChoiceField(choices=Interaction.Channel.choices)
    summary = serializers.CharField(max_length=5000)
    contacts = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Contact.objects.filter(erased_at__isnull=True), default=list
    )
    staff = serializers.PrimaryKeyRelatedField(many=True, queryset=assignable_users(), default=list)
    follow_ups = FollowUpInputSerializer(many=True, default=list, max_length=MAX_FOLLOW_UPS)

    def validate_occurred_at(self, occurred_at):
        if occurred_at > timezone.now():
            raise serializers.ValidationError(
                _("An interaction is recorded after it happened; the date is in the future.")
            )
        return occurred_at

    def validate(self, attrs: dict) -> dict:
        strangers = [contact.pk for contact in attrs["contacts"] if contact.customer_id != attrs["customer"].pk]
        if strangers:
            raise serializers.ValidationError(
                {"contacts": [_("Contacts %s do not belong to this customer.") % ", ".join(map(str, strangers))]}
            )
        return attrs
