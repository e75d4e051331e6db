"""Entity endpoints: CRUD, bulk upsert, merge, similar entities and an entity's edges."""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework.decorators import action
from rest_framework.response import Response

from entities.api.serializers import (
    EntityBulkRequestSerializer,
    EntityBulkResponseSerializer,
    EntityMergeResultSerializer,
    EntityMergeSerializer,
    EntitySerializer,
    SimilarEntitySerializer,
    SimilarQuerySerializer,
)
from entities.filters import EntityFilterSet
from entities.models import Entity
from entities.selectors import ENTITY_LIST_FIELDS, entity_similar
from entities.services import (
    entity_bulk_upsert,
    entity_create,
    entity_delete,
    entity_merge,
    entity_update,
)
from kglab.api.concurrency import check_if_match
from kglab.api.viewsets import IF_MATCH_PARAMETER, BulkUpsertMixin, OwnedModelViewSet
from relationships.api.serializers import EntityRelationshipsQuerySerializer, RelationshipSerializer
from relationships.selectors import relationship_list_for_entity


@extend_schema_view(
    list=extend_schema(summary="List entities", description="Paginated; see the filters below."),
    create=extend_schema(
        summary="Create an entity",
        description="409 `conflict` (with `existing_id`) if the owner already has this type and name.",
    ),
    retrieve=extend_schema(summary="Get an entity"),
    update=extend_schema(summary="Replace an entity"),
    partial_update=extend_schema(summary="Change some fields of an entity"),
    destroy=extend_schema(summary="Delete an entity and its relationships"),
    bulk=extend_schema(
        summary="Create or merge up to 1,000 entities",
        request=EntityBulkRequestSerializer,
        responses=EntityBulkResponseSerializer,
    ),
)
class EntityViewSet(BulkUpsertMixin, OwnedModelViewSet):
    """Entities (knowledge graph nodes) of the caller; admins and moderators see everyone's."""

    queryset = Entity.objects.only(*ENTITY_LIST_FIELDS)
    serializer_class = EntitySerializer
    filterset_class = EntityFilterSet
    ordering_fields = (
        "id",
        "name",
        "normalized_name",
        "type",
        "confidence",
        "mention_count",
        "created_at",
        "updated_at",
    )
    ordering = ("-id",)
    create_service = entity_create
    update_service = entity_update
    delete_service = entity_delete
    bulk_upsert_service = entity_bulk_upsert
    service_instance_kwarg = "entity"

    @extend_schema(
        summary="Merge entities into this one",
        parameters=[IF_MATCH_PARAMETER],
        request=EntityMergeSerializer,
        responses=EntityMergeResultSerializer,
    )
    @action(detail=True, methods=["post"])
    def merge(self, request, pk=None):
        """Folds `merge_ids` into this entity in one transaction: their relationships move
        here (duplicates combined, self-loops dropped), their names become aliases, their
        metadata and provenance are absorbed, and they are removed. `If-Match` is checked
        against the survivor (412 when it changed)."""
        body = EntityMergeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with transaction.atomic():
            survivor = self.get_locked_object()
            check_if_match(request, survivor)
            result = entity_merge(
                survivor=survivor, merge_ids=body.validated_data["merge_ids"], actor=request.user
            )
        data = EntityMergeResultSerializer(result, context=self.get_serializer_context()).data
        return self.with_etag(Response(data), result["entity"])

    @extend_schema(
        summary="Entities with similar names",
        parameters=[SimilarQuerySerializer],
        responses=SimilarEntitySerializer(many=True),
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def similar(self, request, pk=None):
        """Other entities of the same owner whose name or aliases are trigram-similar to this
        entity's, best first (candidates for a merge)."""
        params = SimilarQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        entity = self.get_object()
        rows = entity_similar(entity=entity, **params.validated_data)
        return Response(SimilarEntitySerializer(rows, many=True, context=self.get_serializer_context()).data)

    @extend_schema(
        summary="Relationships of an entity",
        parameters=[
            EntityRelationshipsQuerySerializer,
            OpenApiParameter("type", str, many=True, description="Relationship type(s)."),
        ],
        responses=RelationshipSerializer(many=True),
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def relationships(self, request, pk=None):
        """Edges leaving (`outgoing`), entering (`incoming`) or touching (`both`) this entity,
        optionally of some types and with at least `min_confidence`; paginated."""
        params = EntityRelationshipsQuerySerializer(
            data={**request.query_params.dict(), "type": request.query_params.getlist("type")}
        )
        params.is_valid(raise_exception=True)
        entity = self.get_object()
        edges = relationship_list_for_entity(
            user=request.user,
            entity=entity,
            direction=params.validated_data["direction"],
            types=params.validated_data.get("type"),
            min_confidence=params.validated_data.get("min_confidence"),
        ).order_by("-id")
        page = self.paginate_queryset(edges)
        serializer = RelationshipSerializer(page, many=True, context=self.get_serializer_context())
        return self.get_paginated_response(serializer.data)
