from rest_framework import serializers

from apps.audit.models import AuditEntry


class AuditEntrySerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_display", read_only=True)
    record_type = serializers.SerializerMethodField()

    class Meta:
        model = AuditEntry
        fields = [
            "seq",
            "created_at",
            "actor_kind",
            "actor_id",
            "actor",
            "action",
            "record_type",
            "object_id",
            "object_label",
            "changes",
            "reason",
            "prev_hash",
            "hash",
        ]
        read_only_fields = fields

    def get_record_type(self, entry: AuditEntry) -> str:
        return f"{entry.content_type.app_label}.{entry.content_type.model}"
