"""Serializers of the integrations API."""

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from integrations.models import ExtractionJob


class ExtractionDocumentSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=settings.EXTRACTION_MAX_TEXT_CHARS, trim_whitespace=False)
    title = serializers.CharField(max_length=512, required=False, allow_blank=True, default="")
    source = serializers.CharField(
        max_length=2048, required=False, allow_blank=True, default="", help_text="Where the text comes from."
    )

    def validate_text(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("The text is empty.", code="blank")
        return value


class ExtractionSubmitSerializer(serializers.Serializer):
    """Either `{"documents": [{"text", "title", "source"}, ...]}` (1 to EXTRACTION_MAX_BATCH
    documents) or one document's fields at the top level."""

    documents = ExtractionDocumentSerializer(
        many=True, required=False, min_length=1, max_length=settings.EXTRACTION_MAX_BATCH
    )
    text = serializers.CharField(required=False, trim_whitespace=False)
    title = serializers.CharField(required=False, allow_blank=True)
    source = serializers.CharField(required=False, allow_blank=True)

    def validate(self, attrs: dict) -> dict:
        single = {key: attrs[key] for key in ("text", "title", "source") if key in attrs}
        if "documents" in attrs:
            if single:
                raise serializers.ValidationError(
                    "Send either `documents` or one document's fields, not both."
                )
            return {"documents": attrs["documents"]}
        document = ExtractionDocumentSerializer(data=single)
        if not document.is_valid():
            raise serializers.ValidationError(document.errors)
        return {"documents": [document.validated_data]}


class ExtractionJobBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = ExtractionJob
        fields = [
            "id",
            "owner",
            "batch_id",
            "title",
            "source",
            "status",
            "attempts",
            "queued_at",
            "started_at",
            "finished_at",
            "error",
            "entities_created",
            "entities_updated",
            "entities_unchanged",
            "relationships_created",
            "relationships_updated",
            "relationships_unchanged",
            "created_at",
            "updated_at",
            "version",
        ]
        read_only_fields = fields


class ExtractedMentionSerializer(serializers.Serializer):
    start = serializers.IntegerField()
    end = serializers.IntegerField()
    text = serializers.CharField()
    score = serializers.FloatField()


class ExtractedEntitySerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()
    label = serializers.CharField(help_text="spaCy's NER label.")
    confidence = serializers.FloatField()
    mentions = ExtractedMentionSerializer(many=True)
    entity_id = serializers.IntegerField()
    stored_as = serializers.CharField(help_text="Name of the graph entity it resolved to.")
    status = serializers.CharField(help_text="created, updated or unchanged in the graph.")


class ExtractedEvidenceSerializer(serializers.Serializer):
    sentence = serializers.CharField()
    start = serializers.IntegerField()
    end = serializers.IntegerField()
    confidence = serializers.FloatField()


class ExtractedRelationshipSerializer(serializers.Serializer):
    source = serializers.CharField()
    source_id = serializers.IntegerField()
    target = serializers.CharField()
    target_id = serializers.IntegerField()
    type = serializers.CharField()
    confidence = serializers.FloatField()
    evidence = ExtractedEvidenceSerializer(many=True)
    relationship_id = serializers.IntegerField()
    status = serializers.CharField(help_text="created, updated or unchanged in the graph.")


class ExtractionResultSerializer(serializers.Serializer):
    entities = ExtractedEntitySerializer(many=True)
    relationships = ExtractedRelationshipSerializer(many=True)


@extend_schema_field(ExtractionResultSerializer)
class ExtractionResultField(serializers.JSONField):
    """The stored extraction result, documented with its shape."""


class ExtractionJobSerializer(ExtractionJobBriefSerializer):
    result = ExtractionResultField(read_only=True, help_text="Empty until the job succeeds.")

    class Meta(ExtractionJobBriefSerializer.Meta):
        fields = [*ExtractionJobBriefSerializer.Meta.fields, "text", "text_sha256", "result"]
        read_only_fields = fields


class ExtractionJobAcceptedSerializer(serializers.Serializer):
    batch_id = serializers.UUIDField()
    jobs = ExtractionJobBriefSerializer(many=True)
