"""Graph traversal endpoints: k-hop neighbours, shortest path and subgraph export.

Start and end entities are looked up among the entities the caller may see (another owner's
entity is a 404); the traversal itself stays inside that entity's owner's graph."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from entities.models import Entity
from relationships import traversal
from relationships.api.graph_serializers import (
    CytoscapeGraphSerializer,
    GraphPathSerializer,
    NeighborhoodSerializer,
    NeighborsQuerySerializer,
    PathQuerySerializer,
    SubgraphFormat,
    SubgraphQuerySerializer,
)

GRAPHML_CONTENT_TYPE = "application/graphml+xml"

_ERRORS = {
    400: OpenApiResponse(description="Invalid query parameters (error shape, code `validation_error`)."),
    401: OpenApiResponse(description="Not authenticated."),
}


def _visible_entity(request: Request, pk: int) -> Entity:
    return get_object_or_404(Entity.objects.visible_to(request.user), pk=pk)


def _validated(serializer_class, request: Request) -> dict:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class PathNotFound(exceptions.NotFound):
    """404 `path_not_found`, with the ends and the depth searched in `details`."""

    def __init__(self, *, source: int, target: int, max_depth: int, direction: str):
        super().__init__()
        # Set after construction so the ids stay numbers in `details` (DRF would stringify them).
        self.detail = {
            "code": "path_not_found",
            "detail": f"No path of at most {max_depth} hops ({direction}) joins entity {source} "
            f"to entity {target}.",
            "source": source,
            "target": target,
            "max_depth": max_depth,
        }


class _NoQueryFormatOverride:
    URL_FORMAT_OVERRIDE = None


class QueryFormatAgnosticNegotiation(DefaultContentNegotiation):
    """The subgraph endpoint's `?format=` chooses the export format, not a DRF renderer."""

    settings = _NoQueryFormatOverride


class EntityNeighborsView(APIView):
    @extend_schema(
        operation_id="entities_neighbors",
        tags=["graph"],
        summary="Neighbours of an entity within k hops",
        parameters=[NeighborsQuerySerializer],
        responses={
            200: NeighborhoodSerializer,
            **_ERRORS,
            404: OpenApiResponse(description="No such entity visible to the caller."),
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        """Every entity within `depth` hops (1 to 5) of this one, with its hop distance, and the
        relationships that reach them. Cycles are safe: each entity appears once, at its
        smallest distance. At most `limit` neighbours (default 500, at most 5,000);
        `truncated` is true when there were more."""
        params = _validated(NeighborsQuerySerializer, request)
        entity = _visible_entity(request, pk)
        hood = traversal.neighbors(
            entity=entity,
            depth=params["depth"],
            direction=params["direction"],
            types=params.get("types"),
            min_confidence=params.get("min_confidence"),
            limit=params["limit"],
        )
        return Response(NeighborhoodSerializer(hood).data)


class GraphPathView(APIView):
    @extend_schema(
        operation_id="graph_path",
        tags=["graph"],
        summary="Shortest path between two entities",
        parameters=[PathQuerySerializer],
        responses={
            200: GraphPathSerializer,
            **_ERRORS,
            404: OpenApiResponse(
                description="An end is not visible to the caller (`not_found`), or no path of at "
                "most `max_depth` hops joins them (`path_not_found`)."
            ),
        },
    )
    def get(self, request: Request) -> Response:
        """A shortest path from `source` to `target` of at most `max_depth` hops (1 to 6,
        default 6), found by a bidirectional breadth-first search in the database."""
        params = _validated(PathQuerySerializer, request)
        source = _visible_entity(request, params["source"])
        target = _visible_entity(request, params["target"])
        path = traversal.shortest_path(
            source=source,
            target=target,
            max_depth=params["max_depth"],
            direction=params["direction"],
            types=params.get("types"),
            min_confidence=params.get("min_confidence"),
        )
        if path is None:
            raise PathNotFound(
                source=source.pk,
                target=target.pk,
                max_depth=params["max_depth"],
                direction=params["direction"],
            )
        return Response(GraphPathSerializer(path).data)


class GraphSubgraphView(APIView):
    content_negotiation_class = QueryFormatAgnosticNegotiation

    @extend_schema(
        operation_id="graph_subgraph",
        tags=["graph"],
        summary="Export the subgraph around an entity",
        parameters=[SubgraphQuerySerializer],
        responses={
            (200, "application/json"): PolymorphicProxySerializer(
                component_name="Subgraph",
                serializers=[NeighborhoodSerializer, CytoscapeGraphSerializer],
                resource_type_field_name=None,
            ),
            (200, GRAPHML_CONTENT_TYPE): OpenApiTypes.BINARY,
            **_ERRORS,
            404: OpenApiResponse(description="No such entity visible to the caller."),
        },
    )
    def get(self, request: Request) -> Response | HttpResponse:
        """The subgraph induced by the entities within `depth` hops of `entity`: its nodes and
        every relationship between two of them. `format=json` (default) gives nodes and edges,
        `format=cytoscape` the Cytoscape.js elements format, `format=graphml` a GraphML file
        (`application/graphml+xml`, as an attachment)."""
        params = _validated(SubgraphQuerySerializer, request)
        entity = _visible_entity(request, params["entity"])
        graph = traversal.subgraph(
            entity=entity,
            depth=params["depth"],
            direction=params["direction"],
            types=params.get("types"),
            min_confidence=params.get("min_confidence"),
            limit=params["limit"],
        )
        if params["format"] == SubgraphFormat.GRAPHML:
            response = HttpResponse(traversal.graph_graphml(graph=graph), content_type=GRAPHML_CONTENT_TYPE)
            response["Content-Disposition"] = f'attachment; filename="subgraph-{entity.pk}.graphml"'
            return response
        if params["format"] == SubgraphFormat.CYTOSCAPE:
            return Response(CytoscapeGraphSerializer(traversal.graph_cytoscape(graph=graph)).data)
        return Response(NeighborhoodSerializer(graph).data)
