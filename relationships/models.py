"""Relationships: the typed, directed edges between two entities of one owner."""

from django.db import models

from entities.models import type_slug_validator
from kglab.models import OwnedModel


class Relationship(OwnedModel):
    source = models.ForeignKey("entities.Entity", on_delete=models.CASCADE, related_name="outgoing")
    target = models.ForeignKey("entities.Entity", on_delete=models.CASCADE, related_name="incoming")
    type = models.CharField(max_length=64, validators=[type_slug_validator])
    confidence = models.FloatField(default=1.0)
    metadata = models.JSONField(default=dict, blank=True)
    # Evidence: [{"text": sentence, "source": reference, "job": id, ...}]
    evidence = models.JSONField(default=list, blank=True)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_to = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_via = models.CharField(max_length=64, default="api")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "source", "target", "type"], name="relationships_unique_edge"
            ),
            models.CheckConstraint(
                condition=models.Q(confidence__gte=0) & models.Q(confidence__lte=1),
                name="relationships_confidence_range",
            ),
            models.CheckConstraint(
                condition=models.Q(type__regex=r"^[a-z][a-z0-9_-]{0,63}$"),
                name="relationships_type_slug",
            ),
            models.CheckConstraint(
                condition=models.Q(valid_from__isnull=True)
                | models.Q(valid_to__isnull=True)
                | models.Q(valid_from__lte=models.F("valid_to")),
                name="relationships_valid_period",
            ),
        ]
        indexes = [
            # Traversal in both directions, with the type alongside for filtered hops.
            models.Index(fields=["source", "type"], name="relationships_source_type"),
            models.Index(fields=["target", "type"], name="relationships_target_type"),
            # Mirror of the unique edge index: an incoming hop within one owner is answered
            # by an index-only scan, as outgoing hops are by the unique index.
            models.Index(fields=["owner", "target", "source", "type"], name="relationships_incoming_edge"),
            models.Index(fields=["owner", "id"], name="relationships_owner_id"),
            models.Index(fields=["owner", "type"], name="relationships_owner_type"),
            models.Index(fields=["owner", "confidence"], name="relationships_owner_conf"),
            models.Index(fields=["owner", "updated_at"], name="relationships_owner_updated"),
        ]

    def __str__(self) -> str:
        return f"{self.source_id} -[{self.type}]-> {self.target_id}"
