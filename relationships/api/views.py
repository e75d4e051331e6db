"""Relationship endpoints: CRUD and bulk upsert."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view

from kglab.api.viewsets import BulkUpsertMixin, OwnedModelViewSet
from relationships.api.serializers import (
    RelationshipBulkRequestSerializer,
    RelationshipBulkResponseSerializer,
    RelationshipSerializer,
)
from relationships.filters import RelationshipFilterSet
from relationships.models import Relationship
from relationships.services import (
    relationship_bulk_upsert,
    relationship_create,
    relationship_delete,
    relationship_update,
)


@extend_schema_view(
    list=extend_schema(summary="List relationships", description="Paginated; see the filters below."),
    create=extend_schema(
        summary="Create a relationship",
        description="Both ends must be entities of the owner; 409 `conflict` if the edge exists.",
    ),
    retrieve=extend_schema(summary="Get a relationship"),
    update=extend_schema(summary="Replace a relationship"),
    partial_update=extend_schema(summary="Change some fields of a relationship"),
    destroy=extend_schema(summary="Delete a relationship"),
    bulk=extend_schema(
        summary="Create or merge up to 1,000 relationships",
        request=RelationshipBulkRequestSerializer,
        responses=RelationshipBulkResponseSerializer,
    ),
)
class RelationshipViewSet(BulkUpsertMixin, OwnedModelViewSet):
    """Directed, typed edges between two entities of one owner."""

    queryset = Relationship.objects.all()
    serializer_class = RelationshipSerializer
    filterset_class = RelationshipFilterSet
    ordering_fields = ("id", "type", "confidence", "valid_from", "valid_to", "created_at", "updated_at")
    ordering = ("-id",)
    create_service = relationship_create
    update_service = relationship_update
    delete_service = relationship_delete
    bulk_upsert_service = relationship_bulk_upsert
    service_instance_kwarg = "relationship"
