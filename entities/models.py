"""Entities: the nodes of the knowledge graph."""

import unicodedata

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Func
from pgvector.django import HnswIndex, VectorField

from kglab.models import OwnedModel

EMBEDDING_DIMENSIONS = 384

type_slug_validator = RegexValidator(
    r"^[a-z][a-z0-9_-]{0,63}$",
    "A type is a lower-case slug: a letter, then letters, digits, '-' or '_' (64 at most).",
    code="invalid_type",
)


def search_document() -> Func:
    """The weighted full-text document of an entity (name A, aliases B, description C), as
    the SQL function created by migration 0002; the GIN index `entities_search_fts` is on
    exactly this expression, so a query using it is answered from the index."""
    return Func(
        F("name"),
        F("aliases"),
        F("description"),
        function="entities_search_document",
        output_field=SearchVectorField(),
    )


def normalize_name(name: str) -> str:
    """NFKC, case-folded, inner whitespace collapsed: the key that makes two names one entity."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


class EntityType(models.TextChoices):
    """Types the system knows out of the box; any other valid slug is accepted too."""

    PERSON = "person"
    ORGANIZATION = "organization"
    LOCATION = "location"
    PRODUCT = "product"
    EVENT = "event"
    CONCEPT = "concept"


class Entity(OwnedModel):
    name = models.CharField(max_length=512)
    normalized_name = models.CharField(max_length=512, editable=False)
    type = models.CharField(max_length=64, validators=[type_slug_validator])
    aliases = ArrayField(models.CharField(max_length=512), default=list, blank=True)
    description = models.TextField(blank=True, default="")
    confidence = models.FloatField(default=1.0)
    metadata = models.JSONField(default=dict, blank=True)
    # Provenance: where the entity was seen and who made it.
    provenance = models.JSONField(default=list, blank=True)  # [{"source", "job", "offsets"}]
    mention_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_via = models.CharField(max_length=64, default="api")  # api, bulk, extraction, module:<name>
    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS, null=True, blank=True)

    class Meta:
        verbose_name_plural = "entities"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "type", "normalized_name"], name="entities_entity_unique_name"
            ),
            models.CheckConstraint(
                condition=models.Q(confidence__gte=0) & models.Q(confidence__lte=1),
                name="entities_entity_confidence_range",
            ),
            models.CheckConstraint(
                condition=models.Q(type__regex=r"^[a-z][a-z0-9_-]{0,63}$"),
                name="entities_entity_type_slug",
            ),
        ]
        indexes = [
            # Lists page through one owner's rows by id: this keeps them an index range scan.
            models.Index(fields=["owner", "id"], name="entities_owner_id"),
            models.Index(fields=["owner", "type"], name="entities_owner_type"),
            models.Index(fields=["owner", "confidence"], name="entities_owner_confidence"),
            models.Index(fields=["owner", "updated_at"], name="entities_owner_updated"),
            GinIndex(OpClass("normalized_name", name="gin_trgm_ops"), name="entities_name_trgm"),
            GinIndex(fields=["aliases"], name="entities_aliases"),
            GinIndex(search_document(), name="entities_search_fts"),
            HnswIndex(
                name="entities_embedding_hnsw",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.type})"

    def save(self, *args, **kwargs):
        self.normalized_name = normalize_name(self.name)
        super().save(*args, **kwargs)
