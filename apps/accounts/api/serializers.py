from rest_framework import serializers

from apps.accounts.models import ApiToken, User


class UserSerializer(serializers.ModelSerializer):
    role = serializers.CharField(read_only=True, allow_null=True)
    role_label = serializers.CharField(read_only=True)

    class Meta:
        model = User
        fields = ["id", "email", "full_name", "role", "role_label", "is_active", "access_expires_at", "clause_scope"]
        read_only_fields = fields


class MeSerializer(UserSerializer):
    permissions = serializers.SerializerMethodField()

    class Meta(UserSerializer.Meta):
        fields = [*UserSerializer.Meta.fields, "permissions"]
        read_only_fields = fields

    def get_permissions(self, user: User) -> list[str]:
        return sorted(user.get_all_permissions())


class TokenRequestSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False, write_only=True)
    name = serializers.CharField(
        max_length=100, required=False, default="", allow_blank=True, help_text="A label, e.g. the script's name."
    )


class ApiTokenSerializer(serializers.ModelSerializer):
    """A token as lists show it: never its secret (the portal no longer has it)."""

    state = serializers.ChoiceField(choices=["active", "expired", "revoked"], read_only=True)
    # "" until the token is revoked. Declared because DRF drops allow_blank from read-only model
    # fields, and the schema then refused the "" every live token has.
    revoke_reason = serializers.ChoiceField(choices=ApiToken.RevokeReason.choices, allow_blank=True, read_only=True)

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "user",
            "name",
            "prefix",
            "state",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "revoked_by",
            "revoke_reason",
        ]
        read_only_fields = fields


class TokenSerializer(ApiTokenSerializer):
    """A token just issued: the only response that carries its secret."""

    token = serializers.SerializerMethodField(help_text="The secret. Shown this once; keep it safe.")

    class Meta(ApiTokenSerializer.Meta):
        fields = ["token", *ApiTokenSerializer.Meta.fields]
        read_only_fields = fields

    def get_token(self, token: ApiToken) -> str:
        return self.context["secret"]
