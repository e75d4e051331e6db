"""Traversal functions against real PostgreSQL: hop distances, cycles, direction, filters,
caps, owner isolation, shortest paths and the bound on the number of SQL statements."""

import itertools

import networkx as nx
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import make_user
from entities.models import Entity
from relationships import traversal
from relationships.models import Relationship


def build_graph(owner, edges, *, names=()) -> dict[str, Entity]:
    """Entities named by the strings in `edges` (plus `names`), and one relationship per
    `(source, target)` or `(source, target, type)` or `(source, target, type, confidence)`."""
    entities: dict[str, Entity] = {}

    def entity(name: str) -> Entity:
        if name not in entities:
            entities[name] = Entity.objects.create(owner=owner, name=name, type="concept")
        return entities[name]

    for name in names:
        entity(name)
    for source, target, *rest in edges:
        rtype = rest[0] if rest else "related_to"
        confidence = rest[1] if len(rest) > 1 else 1.0
        Relationship.objects.create(
            owner=owner, source=entity(source), target=entity(target), type=rtype, confidence=confidence
        )
    return entities


def distances(hood) -> dict[int, int]:
    return {node.id: node.distance for node in hood.nodes}


def by_name(graph: dict[str, Entity], ids) -> set[str]:
    names = {e.pk: n for n, e in graph.items()}
    return {names[i] for i in ids}


@pytest.fixture
def chain(user):
    # a -> b -> c -> d -> e -> f -> g, plus a cycle back g -> a
    nodes = "abcdefg"
    return build_graph(user, [*itertools.pairwise(nodes), ("g", "a")])


def test_hop_distances_on_a_chain_outgoing(chain):
    hood = traversal.neighbors(entity=chain["a"], depth=3, direction="outgoing")
    assert distances(hood) == {chain[n].pk: d for n, d in zip("abcd", range(4), strict=True)}
    assert [(e.source_id, e.target_id) for e in hood.edges] == [
        (chain["a"].pk, chain["b"].pk),
        (chain["b"].pk, chain["c"].pk),
        (chain["c"].pk, chain["d"].pk),
    ]
    assert hood.truncated is False


def test_cycle_is_visited_once_at_smallest_distance(chain):
    hood = traversal.neighbors(entity=chain["a"], depth=5, direction="both")
    # Both ways round the 7-cycle: b and g at 1, c and f at 2, d and e at 3.
    assert distances(hood) == {
        chain["a"].pk: 0,
        chain["b"].pk: 1,
        chain["g"].pk: 1,
        chain["c"].pk: 2,
        chain["f"].pk: 2,
        chain["d"].pk: 3,
        chain["e"].pk: 3,
    }
    assert len(hood.nodes) == len({n.id for n in hood.nodes})
    # Every edge of the cycle is reported once, d-e included (both ends at distance 3,
    # found from the frontier at level 4).
    assert len(hood.edges) == 7


def test_incoming_direction_walks_edges_backwards(chain):
    hood = traversal.neighbors(entity=chain["c"], depth=2, direction="incoming")
    assert by_name(chain, distances(hood)) == {"c", "b", "a"}
    assert distances(hood)[chain["a"].pk] == 2


def test_both_directions_on_a_star(user):
    g = build_graph(user, [("hub", "x"), ("y", "hub"), ("x", "z")])
    assert by_name(g, distances(traversal.neighbors(entity=g["hub"], direction="outgoing"))) == {"hub", "x"}
    assert by_name(g, distances(traversal.neighbors(entity=g["hub"], direction="incoming"))) == {"hub", "y"}
    both = traversal.neighbors(entity=g["hub"], depth=2, direction="both")
    assert distances(both) == {g["hub"].pk: 0, g["x"].pk: 1, g["y"].pk: 1, g["z"].pk: 2}


def test_type_and_confidence_filters(user):
    g = build_graph(
        user,
        [
            ("a", "b", "works_for", 0.9),
            ("a", "c", "knows", 0.9),
            ("a", "d", "works_for", 0.2),
            ("b", "e", "knows", 0.9),
        ],
    )
    typed = traversal.neighbors(entity=g["a"], depth=2, types=["works_for"])
    assert by_name(g, distances(typed)) == {"a", "b", "d"}
    confident = traversal.neighbors(entity=g["a"], depth=2, min_confidence=0.5)
    assert by_name(g, distances(confident)) == {"a", "b", "c", "e"}
    both = traversal.neighbors(entity=g["a"], depth=2, types=["works_for"], min_confidence=0.5)
    assert by_name(g, distances(both)) == {"a", "b"}
    assert {e.type for e in both.edges} == {"works_for"}


def test_limit_truncates_and_says_so(user):
    g = build_graph(user, [("hub", f"leaf{i}") for i in range(12)] + [("leaf0", "far")])
    hood = traversal.neighbors(entity=g["hub"], depth=2, limit=5)
    assert len(hood.nodes) == 6  # the start entity and five neighbours
    assert hood.truncated is True
    kept = {n.id for n in hood.nodes}
    assert all(e.source_id in kept and e.target_id in kept for e in hood.edges)

    exact = traversal.neighbors(entity=g["hub"], depth=1, limit=12)
    assert len(exact.nodes) == 13
    assert exact.truncated is False


def test_edge_cap_truncates(user):
    # Two entities joined by many relationship types: one neighbour, many edges.
    g = build_graph(user, [("a", "b", f"t{i}") for i in range(10)])
    hood = traversal.neighbors(entity=g["a"], limit=1)
    assert len(hood.edges) == traversal.EDGES_PER_NODE
    assert hood.truncated is True


def test_no_node_is_left_without_its_edge_when_the_edge_cap_cuts(user):
    # Six relationships a -> b fill the edge cap of limit 3 (6 edges) while the node cap still
    # has room: c must not be returned without the edge that reaches it.
    g = build_graph(user, [("a", "b", f"t{i}") for i in range(6)] + [("a", "c")])
    hood = traversal.neighbors(entity=g["a"], depth=1, limit=3, direction="outgoing")
    assert hood.truncated is True
    assert len(hood.edges) == 3 * traversal.EDGES_PER_NODE
    assert [n.id for n in hood.nodes] == [g["a"].pk, g["b"].pk]


def test_traversal_never_leaves_the_owner(user, other_user):
    mine = build_graph(user, [("alice", "acme")])
    theirs = build_graph(other_user, [("acme", "secret"), ("alice", "hidden")])
    # A relationship row that (wrongly) crosses owners is not followed either.
    Relationship.objects.create(owner=other_user, source=mine["acme"], target=theirs["secret"], type="leak")
    hood = traversal.neighbors(entity=mine["alice"], depth=5)
    assert {n.id for n in hood.nodes} == {mine["alice"].pk, mine["acme"].pk}
    assert traversal.shortest_path(source=mine["alice"], target=theirs["secret"]) is None


def test_statements_are_bounded_by_depth_not_by_nodes(user):
    g = build_graph(
        user, [(f"n{i}", f"n{i + 1}") for i in range(8)] + [("n0", f"side{i}") for i in range(30)]
    )
    # One statement per level, plus one that reads the entities reached.
    with CaptureQueriesContext(connection) as ctx:
        traversal.neighbors(entity=g["n0"], depth=5)
    assert len(ctx.captured_queries) == 5 + 1
    with CaptureQueriesContext(connection) as ctx:
        traversal.neighbors(entity=g["n7"], depth=5, direction="outgoing")
    assert len(ctx.captured_queries) == 2 + 1  # n7 -> n8, then nothing beyond n8: the walk stops
    with CaptureQueriesContext(connection) as ctx:
        traversal.subgraph(entity=g["n0"], depth=3)
    assert len(ctx.captured_queries) == 3 + 1 + 1  # and one for the induced edges
    with CaptureQueriesContext(connection) as ctx:
        path = traversal.shortest_path(source=g["n0"], target=g["n6"], direction="outgoing")
    assert path.length == 6
    assert len(ctx.captured_queries) <= traversal.MAX_PATH_DEPTH + 1


def test_depth_and_limit_bounds_are_enforced(chain):
    with pytest.raises(ValueError, match="depth"):
        traversal.neighbors(entity=chain["a"], depth=6)
    with pytest.raises(ValueError, match="limit"):
        traversal.neighbors(entity=chain["a"], limit=traversal.MAX_NEIGHBOR_LIMIT + 1)
    with pytest.raises(ValueError, match="max_depth"):
        traversal.shortest_path(source=chain["a"], target=chain["b"], max_depth=7)


# --- shortest path -------------------------------------------------------------------------


def test_shortest_path_in_order(chain):
    path = traversal.shortest_path(source=chain["a"], target=chain["e"], direction="outgoing")
    assert [n.id for n in path.nodes] == [chain[n].pk for n in "abcde"]
    assert [n.distance for n in path.nodes] == [0, 1, 2, 3, 4]
    assert path.length == 4
    for i, edge in enumerate(path.edges):
        assert (edge.source_id, edge.target_id) == (path.nodes[i].id, path.nodes[i + 1].id)


def test_shortest_path_uses_the_cycle_when_both_ways(chain):
    # a -> ... -> f is 5 hops forwards, but f - g - a is 2 hops walking g -> a backwards.
    path = traversal.shortest_path(source=chain["a"], target=chain["f"], direction="both")
    assert [n.id for n in path.nodes] == [chain["a"].pk, chain["g"].pk, chain["f"].pk]
    assert traversal.shortest_path(source=chain["a"], target=chain["f"], direction="outgoing").length == 5


def test_incoming_path_follows_edges_backwards(chain):
    path = traversal.shortest_path(source=chain["c"], target=chain["a"], direction="incoming")
    assert [n.id for n in path.nodes] == [chain["c"].pk, chain["b"].pk, chain["a"].pk]
    # Each hop walked an edge from its target to its source: the edges keep their real ends.
    assert [(e.source_id, e.target_id) for e in path.edges] == [
        (chain["b"].pk, chain["c"].pk),
        (chain["a"].pk, chain["b"].pk),
    ]
    assert traversal.shortest_path(source=chain["a"], target=chain["c"], direction="incoming").length == 5


def test_max_depth_cuts_the_search(chain):
    assert (
        traversal.shortest_path(source=chain["a"], target=chain["e"], max_depth=3, direction="outgoing")
        is None
    )
    assert traversal.shortest_path(source=chain["a"], target=chain["e"], max_depth=4, direction="outgoing")


def test_no_path_between_components(user):
    g = build_graph(user, [("a", "b"), ("c", "d")])
    assert traversal.shortest_path(source=g["a"], target=g["d"]) is None


def test_path_to_itself_has_length_zero(chain):
    path = traversal.shortest_path(source=chain["a"], target=chain["a"])
    assert path.length == 0
    assert [n.id for n in path.nodes] == [chain["a"].pk]


def test_path_respects_type_filter(user):
    g = build_graph(user, [("a", "b", "knows"), ("b", "c", "knows"), ("a", "c", "rival")])
    assert traversal.shortest_path(source=g["a"], target=g["c"]).length == 1
    path = traversal.shortest_path(source=g["a"], target=g["c"], types=["knows"])
    assert [n.id for n in path.nodes] == [g["a"].pk, g["b"].pk, g["c"].pk]


def test_shortest_paths_match_networkx_on_a_random_graph(user):
    # A reference check: on a random graph with cycles, every path found has the length
    # networkx finds, is a real walk, and "no path" agrees too.
    reference = nx.gnm_random_graph(60, 90, seed=7, directed=True)
    g = build_graph(user, [(str(u), str(v)) for u, v in reference.edges()], names=[str(n) for n in reference])
    rel_ends = {r.pk: (r.source_id, r.target_id) for r in Relationship.objects.filter(owner=user)}
    pairs = [(s, t) for s in range(0, 60, 7) for t in range(3, 60, 11) if s != t]
    for s, t in pairs:
        try:
            expected = nx.shortest_path_length(reference, s, t)
        except nx.NetworkXNoPath:
            expected = None
        path = traversal.shortest_path(source=g[str(s)], target=g[str(t)], direction="outgoing")
        if expected is None or expected > traversal.MAX_PATH_DEPTH:
            assert path is None
            continue
        assert path.length == expected
        for i, edge in enumerate(path.edges):
            assert rel_ends[edge.id] == (path.nodes[i].id, path.nodes[i + 1].id)


def test_neighbourhood_matches_networkx_on_a_random_graph(user):
    reference = nx.gnm_random_graph(80, 160, seed=3, directed=True)
    g = build_graph(user, [(str(u), str(v)) for u, v in reference.edges()], names=[str(n) for n in reference])
    undirected = reference.to_undirected()
    for start in (0, 17, 42):
        expected = nx.single_source_shortest_path_length(undirected, start, cutoff=3)
        hood = traversal.neighbors(entity=g[str(start)], depth=3, direction="both", limit=5000)
        assert {int(name): d for name, d in by_distance(g, hood).items()} == expected


def by_distance(g, hood) -> dict[str, int]:
    names = {e.pk: n for n, e in g.items()}
    return {names[node.id]: node.distance for node in hood.nodes}


# --- export --------------------------------------------------------------------------------


def test_subgraph_includes_edges_among_the_last_level(user):
    g = build_graph(user, [("a", "b"), ("a", "c"), ("b", "c")])
    hood = traversal.neighbors(entity=g["a"], depth=1)
    assert len(hood.edges) == 2
    sub = traversal.subgraph(entity=g["a"], depth=1)
    assert len(sub.edges) == 3


def test_other_owner_with_same_names_is_a_separate_graph(user):
    other = make_user()
    mine = build_graph(user, [("x", "y")])
    theirs = build_graph(other, [("x", "y"), ("y", "z")])
    hood = traversal.neighbors(entity=mine["x"], depth=3)
    assert {n.id for n in hood.nodes} == {mine["x"].pk, mine["y"].pk}
    assert theirs["z"].pk not in {n.id for n in hood.nodes}
