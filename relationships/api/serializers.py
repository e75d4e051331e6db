"""Relationship representations and input validation."""

from __future__ import annotations

from rest_framework import serializers

from entities.api.serializers import DATETIME, validate_object, validate_records
from entities.selectors import entity_list
from entities.services import BULK_MAX_ITEMS
from kglab.api.viewsets import BULK_UPSERT_STATUSES, BulkUpsertResponseSerializer, OwnerField
from relationships.models import Relationship


class VisibleEntityField(serializers.PrimaryKeyRelatedField):
    """An entity id the caller may read; any other id is "not found", whoever owns it."""

    default_error_messages = {
        "does_not_exist": "Entity not found.",
        "incorrect_type": "An entity id (integer) is required.",
    }

    def get_queryset(self):
        request = self.context.get("request")
        return entity_list(user=request.user if request else None).only("id", "owner_id")


class RelationshipSerializer(serializers.ModelSerializer):
    owner = OwnerField(required=False, help_text="Owner id; only admins may name another user, on create.")
    source = VisibleEntityField()
    target = VisibleEntityField()
    confidence = serializers.FloatField(min_value=0.0, max_value=1.0, required=False)
    metadata = serializers.JSONField(required=False, validators=[validate_object])
    evidence = serializers.JSONField(
        required=False,
        validators=[validate_records],
        help_text='Supporting evidence: [{"text": ..., "source": ..., "job": ...}].',
    )

    class Meta:
        model = Relationship
        fields = (
            "id",
            "owner",
            "source",
            "target",
            "type",
            "confidence",
            "metadata",
            "evidence",
            "valid_from",
            "valid_to",
            "created_by",
            "created_via",
            "created_at",
            "updated_at",
            "version",
        )
        read_only_fields = ("created_by", "created_via", "created_at", "updated_at", "version")
        # Uniqueness is the database's job; the service answers a duplicate with 409.
        validators: list = []

    def to_representation(self, instance: Relationship) -> dict:
        """A direct mapping, for the same reason and with the same output as the entity one."""
        return {
            "id": instance.pk,
            "owner": instance.owner_id,
            "source": instance.source_id,
            "target": instance.target_id,
            "type": instance.type,
            "confidence": instance.confidence,
            "metadata": instance.metadata,
            "evidence": instance.evidence,
            "valid_from": DATETIME.to_representation(instance.valid_from),
            "valid_to": DATETIME.to_representation(instance.valid_to),
            "created_by": instance.created_by_id,
            "created_via": instance.created_via,
            "created_at": DATETIME.to_representation(instance.created_at),
            "updated_at": DATETIME.to_representation(instance.updated_at),
            "version": instance.version,
        }


class RelationshipBulkItemSerializer(serializers.Serializer):
    """One bulk item (documentation of the shape; the service validates it). `source` and
    `target` are an entity id or {"type", "name"}."""

    source = serializers.JSONField(help_text='Entity id, or {"type": ..., "name": ...}.')
    target = serializers.JSONField(help_text='Entity id, or {"type": ..., "name": ...}.')
    type = serializers.SlugField(max_length=64)
    confidence = serializers.FloatField(min_value=0.0, max_value=1.0, required=False)
    metadata = serializers.DictField(required=False)
    evidence = serializers.ListField(child=serializers.DictField(), required=False)
    valid_from = serializers.DateTimeField(required=False, allow_null=True)
    valid_to = serializers.DateTimeField(required=False, allow_null=True)


class RelationshipBulkRequestSerializer(serializers.Serializer):
    owner = serializers.IntegerField(required=False, help_text="Admins only: upsert for this owner.")
    items = RelationshipBulkItemSerializer(many=True, max_length=BULK_MAX_ITEMS)


class RelationshipBulkResultSerializer(RelationshipSerializer):
    status = serializers.ChoiceField(choices=BULK_UPSERT_STATUSES)

    class Meta(RelationshipSerializer.Meta):
        fields = ("status", *RelationshipSerializer.Meta.fields)


class RelationshipBulkResponseSerializer(BulkUpsertResponseSerializer):
    results = RelationshipBulkResultSerializer(many=True)


class EntityRelationshipsQuerySerializer(serializers.Serializer):
    direction = serializers.ChoiceField(choices=["outgoing", "incoming", "both"], default="both")
    type = serializers.ListField(child=serializers.SlugField(max_length=64), required=False)
    min_confidence = serializers.FloatField(min_value=0.0, max_value=1.0, required=False)
