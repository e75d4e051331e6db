"""Graph traversal in PostgreSQL: k-hop neighbourhoods, shortest paths and subgraph export.

Every traversal walks level by level. Each level is one set-based SQL statement that takes
the whole frontier as an array (`source_id = ANY(frontier)`) and walks the indexes on the
relationship's source and target, so the number of statements is bounded by the depth, never
by the number of nodes or paths. Deduplication is per level (a node is reached once, at its
smallest hop distance), which keeps cyclic and densely connected graphs cheap; a per-path
recursive CTE would enumerate every path and explode on a million edges.

SQL text is assembled only from table and column names of the models and fixed fragments;
every value (ids, types, confidence, caps) is a bound parameter.

Every hop is filtered by the owner of the start entity, so a traversal never leaves one
owner's graph even when two owners' graphs share names.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

import networkx as nx
from django.db import connection

from entities.models import Entity
from relationships.models import Relationship

MAX_NEIGHBOR_DEPTH = 5
MAX_PATH_DEPTH = 6
DEFAULT_NEIGHBOR_LIMIT = 500
MAX_NEIGHBOR_LIMIT = 5000
# A response carries at most this many edges per returned node: a hub with 100,000
# relationships must not turn one request into a 100,000-row read.
EDGES_PER_NODE = 2


class Direction(StrEnum):
    """Which way relationships are followed from a node."""

    OUTGOING = "outgoing"
    INCOMING = "incoming"
    BOTH = "both"

    def reversed(self) -> Direction:
        if self is Direction.OUTGOING:
            return Direction.INCOMING
        if self is Direction.INCOMING:
            return Direction.OUTGOING
        return self


# Nodes and edges are named tuples: a traversal builds thousands of them per request, and a
# tuple is several times cheaper to create than a frozen dataclass.
class GraphNode(NamedTuple):
    id: int
    name: str
    type: str
    confidence: float
    distance: int


class GraphEdge(NamedTuple):
    id: int
    source_id: int
    target_id: int
    type: str
    confidence: float


@dataclass(frozen=True, slots=True)
class Neighborhood:
    """Nodes reached from `root_id` (with their hop distance) and the edges that reached them."""

    root_id: int
    depth: int
    direction: Direction
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    truncated: bool


@dataclass(frozen=True, slots=True)
class GraphPath:
    """A shortest path: `nodes[i]` and `nodes[i + 1]` are joined by `edges[i]`."""

    nodes: list[GraphNode]
    edges: list[GraphEdge]

    @property
    def length(self) -> int:
        return len(self.edges)


_REL = Relationship._meta.db_table
_ENT = Entity._meta.db_table


def _edge_filters(*, types: Sequence[str] | None, min_confidence: float | None) -> tuple[str, dict]:
    clauses, params = [], {}
    if types:
        clauses.append("r.type = ANY(%(types)s)")
        params["types"] = list(types)
    if min_confidence is not None:
        clauses.append("r.confidence >= %(min_confidence)s")
        params["min_confidence"] = min_confidence
    return "".join(f" AND {clause}" for clause in clauses), params


def _hop_sql(direction: Direction, filters: str, *, with_edges: bool) -> str:
    """One hop from the frontier `%(frontier)s` in `direction`: for each relationship taken,
    the frontier node it leaves (`from_id`) and the node it leads to (`next_id`), leaving out
    nodes in `%(exclude)s` (already reached). With `with_edges`, the relationship's id, ends,
    type and confidence too; without, the outgoing hop is answered from the
    (owner, source, target, type) index alone."""
    edge = "r.id, r.source_id, r.target_id, r.type, r.confidence, " if with_edges else ""
    branches = []
    for follow, (here, there) in (
        (Direction.OUTGOING, ("source_id", "target_id")),
        (Direction.INCOMING, ("target_id", "source_id")),
    ):
        if direction in (follow, Direction.BOTH):
            branches.append(
                f"SELECT {edge}r.{here} AS from_id, r.{there} AS next_id FROM {_REL} r"  # noqa: S608
                f" WHERE r.owner_id = %(owner)s AND r.{here} = ANY(%(frontier)s)"
                f" AND NOT (r.{there} = ANY(%(exclude)s)){filters}"
            )
    return " UNION ALL ".join(branches)


def _fetch(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def neighbors(
    *,
    entity: Entity,
    depth: int = 1,
    direction: Direction | str = Direction.BOTH,
    types: Sequence[str] | None = None,
    min_confidence: float | None = None,
    limit: int = DEFAULT_NEIGHBOR_LIMIT,
) -> Neighborhood:
    """The k-hop neighbourhood of `entity`: every entity within `depth` hops (1..5) along
    relationships of the given `direction`, `types` and minimum confidence, each with its hop
    distance, and the edges by which they were reached (edges among nodes at the last level
    lie beyond the depth and are not included).

    At most `limit` neighbours (the start entity is not counted) and `2 * limit` edges are
    returned; `truncated` says a cap cut the result. One SQL statement per level, plus one
    that reads the entities reached."""
    direction = Direction(direction)
    if not 1 <= depth <= MAX_NEIGHBOR_DEPTH:
        raise ValueError(f"depth must be between 1 and {MAX_NEIGHBOR_DEPTH}")
    if not 1 <= limit <= MAX_NEIGHBOR_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_NEIGHBOR_LIMIT}")

    filters, filter_params = _edge_filters(types=types, min_confidence=min_confidence)
    sql = f"{_hop_sql(direction, filters, with_edges=True)} LIMIT %(rows)s"
    distance: dict[int, int] = {entity.pk: 0}
    edges: dict[int, GraphEdge] = {}
    edge_cap = EDGES_PER_NODE * limit
    earlier: list[int] = []  # nodes at a smaller distance than the frontier
    frontier = [entity.pk]
    truncated = False

    for level in range(1, depth + 1):
        rows = _fetch(
            sql,
            {
                **filter_params,
                "owner": entity.owner_id,
                "frontier": frontier,
                "exclude": earlier,
                "rows": edge_cap - len(edges) + 1,
            },
        )
        # A full page means the statement stopped early: there may be more.
        truncated = len(rows) > edge_cap - len(edges)
        next_frontier: list[int] = []
        for edge_id, source_id, target_id, rtype, rconf, _, next_id in rows:
            if len(edges) >= edge_cap:
                truncated = True
                break
            if next_id not in distance:
                if len(distance) > limit:
                    truncated = True
                    continue
                distance[next_id] = level
                next_frontier.append(next_id)
            edges[edge_id] = GraphEdge(edge_id, source_id, target_id, rtype, rconf)
        if truncated or not next_frontier:
            break
        earlier.extend(frontier)
        frontier = next_frontier

    nodes = _nodes(owner_id=entity.owner_id, distance=distance)
    return Neighborhood(
        root_id=entity.pk,
        depth=depth,
        direction=direction,
        nodes=nodes,
        edges=sorted(edges.values(), key=lambda e: e.id),
        truncated=truncated,
    )


def _nodes(*, owner_id: int, distance: dict[int, int]) -> list[GraphNode]:
    """The entities reached, read in one statement (only the owner's: the walk never leaves
    it), ordered by distance, then id."""
    rows = _fetch(
        f"SELECT e.id, e.name, e.type, e.confidence FROM {_ENT} e"  # noqa: S608
        f" WHERE e.owner_id = %(owner)s AND e.id = ANY(%(ids)s)",
        {"owner": owner_id, "ids": list(distance)},
    )
    nodes = [GraphNode(pk, name, etype, conf, distance[pk]) for pk, name, etype, conf in rows]
    return sorted(nodes, key=lambda n: (n.distance, n.id))


def subgraph(
    *,
    entity: Entity,
    depth: int = 1,
    direction: Direction | str = Direction.BOTH,
    types: Sequence[str] | None = None,
    min_confidence: float | None = None,
    limit: int = DEFAULT_NEIGHBOR_LIMIT,
) -> Neighborhood:
    """The subgraph induced by the k-hop neighbourhood of `entity`, for export: the same nodes
    as `neighbors`, and every relationship (matching `types` and `min_confidence`) between two
    of them, including those among the nodes at the last level. One SQL statement per level,
    one for the entities and one for the edges."""
    hood = neighbors(
        entity=entity,
        depth=depth,
        direction=direction,
        types=types,
        min_confidence=min_confidence,
        limit=limit,
    )
    filters, filter_params = _edge_filters(types=types, min_confidence=min_confidence)
    ids = [node.id for node in hood.nodes]
    edge_cap = EDGES_PER_NODE * limit
    rows = _fetch(
        f"SELECT r.id, r.source_id, r.target_id, r.type, r.confidence FROM {_REL} r"  # noqa: S608
        f" WHERE r.owner_id = %(owner)s AND r.source_id = ANY(%(ids)s)"
        f" AND r.target_id = ANY(%(ids)s){filters} ORDER BY r.id LIMIT %(rows)s",
        {**filter_params, "owner": entity.owner_id, "ids": ids, "rows": edge_cap + 1},
    )
    return Neighborhood(
        root_id=hood.root_id,
        depth=hood.depth,
        direction=hood.direction,
        nodes=hood.nodes,
        edges=[GraphEdge(*row) for row in rows[:edge_cap]],
        truncated=hood.truncated or len(rows) > edge_cap,
    )


def shortest_path(
    *,
    source: Entity,
    target: Entity,
    max_depth: int = MAX_PATH_DEPTH,
    direction: Direction | str = Direction.BOTH,
    types: Sequence[str] | None = None,
    min_confidence: float | None = None,
) -> GraphPath | None:
    """A shortest path from `source` to `target` of at most `max_depth` (1..6) hops, following
    relationships in `direction` (an incoming hop walks an edge from its target to its
    source), or None when there is none within `max_depth`.

    Bidirectional breadth-first search: the smaller of the two frontiers is expanded by one
    level per SQL statement (so at most `max_depth` statements, plus one that reads the
    entities and relationships of the path), which visits about the square root of the nodes
    a one-sided search would."""
    direction = Direction(direction)
    if not 1 <= max_depth <= MAX_PATH_DEPTH:
        raise ValueError(f"max_depth must be between 1 and {MAX_PATH_DEPTH}")
    if source.owner_id != target.owner_id:
        return None
    if source.pk == target.pk:
        return GraphPath(
            nodes=[GraphNode(source.pk, source.name, source.type, source.confidence, 0)], edges=[]
        )

    filters, filter_params = _edge_filters(types=types, min_confidence=min_confidence)
    # Only (node reached, node it was reached from) travel back per level: a level can reach
    # tens of thousands of entities, and the few entities and relationships of the path are
    # read once at the end.
    statements = {
        side: (
            f"SELECT DISTINCT ON (h.next_id) h.next_id, h.from_id"  # noqa: S608
            f" FROM ({_hop_sql(way, filters, with_edges=False)}) h ORDER BY h.next_id, h.from_id"
        )
        for side, way in (("forward", direction), ("backward", direction.reversed()))
    }
    # node -> (hop distance from this side's end, neighbour one hop closer to that end)
    seen: dict[str, dict[int, tuple[int, int | None]]] = {
        "forward": {source.pk: (0, None)},
        "backward": {target.pk: (0, None)},
    }
    frontiers = {"forward": [source.pk], "backward": [target.pk]}
    hops = 0
    while hops < max_depth and frontiers["forward"] and frontiers["backward"]:
        side = "forward" if len(frontiers["forward"]) <= len(frontiers["backward"]) else "backward"
        mine, theirs = seen[side], seen["backward" if side == "forward" else "forward"]
        level = mine[frontiers[side][0]][0] + 1
        rows = _fetch(
            statements[side],
            {**filter_params, "owner": source.owner_id, "frontier": frontiers[side], "exclude": list(mine)},
        )
        mine.update((next_id, (level, from_id)) for next_id, from_id in rows)
        frontiers[side] = [row[0] for row in rows]
        met = theirs.keys() & frontiers[side]
        if met:
            meeting = min(met, key=lambda node: (theirs[node][0], node))
            return _path_through(
                meeting,
                forward=seen["forward"],
                backward=seen["backward"],
                owner_id=source.owner_id,
                direction=direction,
                filters=(filters, filter_params),
            )
        hops += 1
    return None


def _walk(start: int, parents: dict[int, tuple[int, int | None]]) -> list[int]:
    """Nodes from `start` back to the end the parents lead to."""
    nodes = [start]
    while (parent := parents[nodes[-1]][1]) is not None:
        nodes.append(parent)
    return nodes


def _path_through(
    meeting: int,
    *,
    forward: dict,
    backward: dict,
    owner_id: int,
    direction: Direction,
    filters: tuple[str, dict],
) -> GraphPath:
    """The path source -> meeting -> target, its entities and the relationship of each hop
    (the lowest id among those that fit) read in one statement."""
    node_ids = _walk(meeting, forward)[::-1] + _walk(meeting, backward)[1:]
    hops = list(itertools.pairwise(node_ids))
    ends = {
        Direction.OUTGOING: hops,
        Direction.INCOMING: [(b, a) for a, b in hops],
        Direction.BOTH: hops + [(b, a) for a, b in hops],
    }[direction]
    sql_filters, filter_params = filters
    rows = _fetch(
        f"SELECT 'node', e.id, e.name, e.type, e.confidence, NULL::bigint, NULL::bigint"  # noqa: S608
        f" FROM {_ENT} e WHERE e.id = ANY(%(nodes)s)"
        f" UNION ALL SELECT 'edge', r.id, NULL, r.type, r.confidence, r.source_id, r.target_id"
        f" FROM {_REL} r JOIN unnest(%(sources)s::bigint[], %(targets)s::bigint[]) AS hop(s, t)"
        f" ON r.source_id = hop.s AND r.target_id = hop.t WHERE r.owner_id = %(owner)s{sql_filters}",
        {
            **filter_params,
            "owner": owner_id,
            "nodes": node_ids,
            "sources": [a for a, _ in ends],
            "targets": [b for _, b in ends],
        },
    )
    entities, relationships = {}, {}
    for kind, pk, name, rtype, confidence, source_id, target_id in sorted(rows, key=lambda row: row[1]):
        if kind == "node":
            entities[pk] = (name, rtype, confidence)
        else:
            pair = frozenset((source_id, target_id))
            relationships.setdefault(pair, GraphEdge(pk, source_id, target_id, rtype, confidence))
    return GraphPath(
        nodes=[GraphNode(pk, *entities[pk], distance) for distance, pk in enumerate(node_ids)],
        edges=[relationships[frozenset(hop)] for hop in hops],
    )


def graph_cytoscape(*, graph: Neighborhood) -> dict:
    """The graph in Cytoscape.js's elements format. Element ids are unique across nodes and
    edges: a node's id is its entity id, an edge's is `e` followed by its relationship id."""
    return {
        "elements": {
            "nodes": [
                {
                    "data": {
                        "id": str(node.id),
                        "label": node.name,
                        "type": node.type,
                        "confidence": node.confidence,
                        "distance": node.distance,
                    }
                }
                for node in graph.nodes
            ],
            "edges": [
                {
                    "data": {
                        "id": f"e{edge.id}",
                        "source": str(edge.source_id),
                        "target": str(edge.target_id),
                        "label": edge.type,
                        "confidence": edge.confidence,
                    }
                }
                for edge in graph.edges
            ],
        },
        "data": {"root": str(graph.root_id), "depth": graph.depth, "truncated": graph.truncated},
    }


def graph_networkx(*, nodes: Iterable[GraphNode], edges: Iterable[GraphEdge]) -> nx.MultiDiGraph:
    """A networkx multigraph (two entities may be joined by several relationship types), keyed
    by relationship id."""
    graph = nx.MultiDiGraph()
    for node in nodes:
        graph.add_node(
            node.id, name=node.name, type=node.type, confidence=node.confidence, distance=node.distance
        )
    for edge in edges:
        graph.add_edge(
            edge.source_id, edge.target_id, key=edge.id, type=edge.type, confidence=edge.confidence
        )
    return graph


def graph_graphml(*, graph: Neighborhood) -> bytes:
    """The graph as a GraphML document (UTF-8)."""
    buffer = io.BytesIO()
    nx.write_graphml(graph_networkx(nodes=graph.nodes, edges=graph.edges), buffer, encoding="utf-8")
    return buffer.getvalue()
