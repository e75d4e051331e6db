"""Graph traversal and export endpoints."""

from django.urls import path

from relationships.api.graph_views import EntityNeighborsView, GraphPathView, GraphSubgraphView

urlpatterns = [
    path("entities/<int:pk>/neighbors/", EntityNeighborsView.as_view(), name="entity-neighbors"),
    path("graph/path/", GraphPathView.as_view(), name="graph-path"),
    path("graph/subgraph/", GraphSubgraphView.as_view(), name="graph-subgraph"),
]
