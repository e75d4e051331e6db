"""Query parameters and responses of the graph traversal endpoints."""

from rest_framework import serializers

from entities.models import type_slug_validator
from relationships.traversal import (
    DEFAULT_NEIGHBOR_LIMIT,
    MAX_NEIGHBOR_DEPTH,
    MAX_NEIGHBOR_LIMIT,
    MAX_PATH_DEPTH,
    Direction,
)

MAX_TYPES = 20


class TypeListField(serializers.CharField):
    """A comma-separated list of relationship type slugs: `?types=works_for,founded`."""

    def to_internal_value(self, data) -> list[str]:
        text = super().to_internal_value(data)
        slugs = [slug.strip() for slug in text.split(",") if slug.strip()]
        if len(slugs) > MAX_TYPES:
            raise serializers.ValidationError(f"At most {MAX_TYPES} types.")
        for slug in slugs:
            type_slug_validator(slug)
        return sorted(set(slugs))


class TraversalFilterSerializer(serializers.Serializer):
    direction = serializers.ChoiceField(
        choices=[d.value for d in Direction],
        default=Direction.BOTH.value,
        help_text="Follow relationships from source to target (outgoing), back (incoming) or both ways.",
    )
    types = TypeListField(
        required=False,
        help_text="Comma-separated relationship types to follow; all types when absent.",
    )
    min_confidence = serializers.FloatField(
        required=False,
        min_value=0.0,
        max_value=1.0,
        help_text="Follow only relationships with at least this confidence.",
    )


class NeighborsQuerySerializer(TraversalFilterSerializer):
    depth = serializers.IntegerField(
        default=1, min_value=1, max_value=MAX_NEIGHBOR_DEPTH, help_text="Hops from the entity (1 to 5)."
    )
    limit = serializers.IntegerField(
        default=DEFAULT_NEIGHBOR_LIMIT,
        min_value=1,
        max_value=MAX_NEIGHBOR_LIMIT,
        help_text="Most neighbours returned; `truncated` is true when there were more.",
    )


class PathQuerySerializer(TraversalFilterSerializer):
    source = serializers.IntegerField(min_value=1, help_text="Id of the entity the path starts at.")
    target = serializers.IntegerField(min_value=1, help_text="Id of the entity the path ends at.")
    max_depth = serializers.IntegerField(
        default=MAX_PATH_DEPTH,
        min_value=1,
        max_value=MAX_PATH_DEPTH,
        help_text="Longest path searched (1 to 6 hops).",
    )


class SubgraphFormat:
    JSON = "json"
    CYTOSCAPE = "cytoscape"
    GRAPHML = "graphml"
    CHOICES = (JSON, CYTOSCAPE, GRAPHML)


class SubgraphQuerySerializer(NeighborsQuerySerializer):
    entity = serializers.IntegerField(
        min_value=1, help_text="Id of the entity at the centre of the subgraph."
    )
    format = serializers.ChoiceField(
        choices=SubgraphFormat.CHOICES,
        default=SubgraphFormat.JSON,
        help_text="`json` (nodes and edges), `cytoscape` (Cytoscape.js elements) or `graphml` (a download).",
    )


class GraphNodeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    type = serializers.CharField()
    confidence = serializers.FloatField()
    distance = serializers.IntegerField(help_text="Hops from the start entity.")

    def to_representation(self, instance) -> dict:
        # A response carries thousands of nodes: building the dict directly is an order of
        # magnitude faster than DRF's field-by-field pass. The fields above document it.
        return {
            "id": instance.id,
            "name": instance.name,
            "type": instance.type,
            "confidence": instance.confidence,
            "distance": instance.distance,
        }


class GraphEdgeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    source = serializers.IntegerField(source="source_id")
    target = serializers.IntegerField(source="target_id")
    type = serializers.CharField()
    confidence = serializers.FloatField()

    def to_representation(self, instance) -> dict:
        # See GraphNodeSerializer.to_representation.
        return {
            "id": instance.id,
            "source": instance.source_id,
            "target": instance.target_id,
            "type": instance.type,
            "confidence": instance.confidence,
        }


class NeighborhoodSerializer(serializers.Serializer):
    entity = serializers.IntegerField(source="root_id", help_text="Id of the start entity.")
    depth = serializers.IntegerField()
    direction = serializers.CharField()
    truncated = serializers.BooleanField(help_text="True when the node or edge cap cut the result.")
    nodes = GraphNodeSerializer(
        many=True, help_text="The start entity (distance 0) and every entity reached."
    )
    edges = GraphEdgeSerializer(many=True)


class GraphPathSerializer(serializers.Serializer):
    length = serializers.IntegerField(help_text="Number of hops.")
    nodes = GraphNodeSerializer(many=True, help_text="From source to target, in order.")
    edges = GraphEdgeSerializer(many=True, help_text="`edges[i]` joins `nodes[i]` and `nodes[i + 1]`.")


class CytoscapeNodeDataSerializer(serializers.Serializer):
    id = serializers.CharField()
    label = serializers.CharField()
    type = serializers.CharField()
    confidence = serializers.FloatField()
    distance = serializers.IntegerField()


class CytoscapeEdgeDataSerializer(serializers.Serializer):
    id = serializers.CharField()
    source = serializers.CharField()
    target = serializers.CharField()
    label = serializers.CharField()
    confidence = serializers.FloatField()


class CytoscapeNodeSerializer(serializers.Serializer):
    data = CytoscapeNodeDataSerializer()


class CytoscapeEdgeSerializer(serializers.Serializer):
    data = CytoscapeEdgeDataSerializer()


class CytoscapeElementsSerializer(serializers.Serializer):
    nodes = CytoscapeNodeSerializer(many=True)
    edges = CytoscapeEdgeSerializer(many=True)


class CytoscapeGraphDataSerializer(serializers.Serializer):
    root = serializers.CharField()
    depth = serializers.IntegerField()
    truncated = serializers.BooleanField()


class CytoscapeGraphSerializer(serializers.Serializer):
    """Cytoscape.js elements format: pass `elements` to `cytoscape({elements})`."""

    elements = CytoscapeElementsSerializer()
    data = CytoscapeGraphDataSerializer()
