"""Graph endpoints over HTTP: validation in the error shape, visibility (404 for another
owner's entity, moderators see all), path found / not found, and the three export formats."""

import io

import networkx as nx
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from relationships.tests.test_traversal import build_graph


@pytest.fixture
def graph(user):
    # alice -works_for-> acme -located_in-> paris -part_of-> france ; bob -knows-> alice
    return build_graph(
        user,
        [
            ("alice", "acme", "works_for", 0.9),
            ("acme", "paris", "located_in", 0.8),
            ("paris", "france", "part_of", 1.0),
            ("bob", "alice", "knows", 0.4),
        ],
        names=["loner"],
    )


def neighbors_url(entity_id) -> str:
    return f"/api/v1/entities/{entity_id}/neighbors/"


def assert_error(response, status: int, code: str, field: str | None = None) -> dict:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    if field is not None:
        assert field in error["details"]["fields"]
    return error


# --- neighbours ----------------------------------------------------------------------------


def test_neighbors_with_distances_and_edges(user_client, graph):
    response = user_client.get(neighbors_url(graph["alice"].pk), {"depth": 2})
    assert response.status_code == 200
    body = response.json()
    assert body["entity"] == graph["alice"].pk
    assert body["depth"] == 2
    assert body["direction"] == "both"
    assert body["truncated"] is False
    assert {n["name"]: n["distance"] for n in body["nodes"]} == {"alice": 0, "acme": 1, "bob": 1, "paris": 2}
    assert {(e["source"], e["target"], e["type"]) for e in body["edges"]} == {
        (graph["alice"].pk, graph["acme"].pk, "works_for"),
        (graph["bob"].pk, graph["alice"].pk, "knows"),
        (graph["acme"].pk, graph["paris"].pk, "located_in"),
    }


def test_neighbors_direction_types_confidence_and_limit(user_client, graph):
    url = neighbors_url(graph["alice"].pk)
    outgoing = user_client.get(url, {"depth": 3, "direction": "outgoing"}).json()
    assert [n["name"] for n in outgoing["nodes"]] == ["alice", "acme", "paris", "france"]
    incoming = user_client.get(url, {"direction": "incoming"}).json()
    assert [n["name"] for n in incoming["nodes"]] == ["alice", "bob"]
    typed = user_client.get(url, {"depth": 3, "types": "works_for,part_of"}).json()
    assert [n["name"] for n in typed["nodes"]] == ["alice", "acme"]
    confident = user_client.get(url, {"depth": 3, "min_confidence": "0.5"}).json()
    assert "bob" not in {n["name"] for n in confident["nodes"]}
    capped = user_client.get(url, {"depth": 3, "limit": 2}).json()
    assert len(capped["nodes"]) == 3
    assert capped["truncated"] is True


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"depth": 0}, "depth"),
        ({"depth": 6}, "depth"),
        ({"depth": "two"}, "depth"),
        ({"direction": "sideways"}, "direction"),
        ({"limit": 5001}, "limit"),
        ({"limit": 0}, "limit"),
        ({"min_confidence": 1.5}, "min_confidence"),
        ({"types": "Not A Slug"}, "types"),
    ],
)
def test_neighbors_rejects_bad_parameters(user_client, graph, params, field):
    assert_error(user_client.get(neighbors_url(graph["alice"].pk), params), 400, "validation_error", field)


def test_neighbors_of_unknown_or_foreign_entity_is_404(user_client, other_client, graph):
    assert_error(other_client.get(neighbors_url(graph["alice"].pk)), 404, "not_found")
    assert_error(user_client.get(neighbors_url(10**12)), 404, "not_found")


def test_neighbors_needs_authentication(anon_client, graph):
    assert_error(anon_client.get(neighbors_url(graph["alice"].pk)), 401, "not_authenticated")


def test_moderator_and_admin_traverse_anyones_graph(moderator_client, admin_client_api, graph):
    for client in (moderator_client, admin_client_api):
        body = client.get(neighbors_url(graph["alice"].pk)).json()
        assert {n["name"] for n in body["nodes"]} == {"alice", "acme", "bob"}


def test_neighbors_query_count_is_bounded(user_client, graph):
    user_client.get(neighbors_url(graph["alice"].pk))  # warm the connection
    with CaptureQueriesContext(connection) as ctx:
        response = user_client.get(neighbors_url(graph["alice"].pk), {"depth": 5})
    assert response.status_code == 200
    # authenticate the user, look up the entity, one statement per level (levels 1-3 reach
    # new entities, level 4 finds that france leads nowhere new), one to read the entities.
    assert len(ctx.captured_queries) <= 2 + 4 + 1


def test_isolation_second_owner_connected_by_name_is_never_reached(user_client, user, other_user):
    mine = build_graph(user, [("alice", "acme")])
    build_graph(other_user, [("acme", "globex"), ("globex", "alice")])
    body = user_client.get(neighbors_url(mine["alice"].pk), {"depth": 5}).json()
    assert {n["id"] for n in body["nodes"]} == {mine["alice"].pk, mine["acme"].pk}


# --- shortest path -------------------------------------------------------------------------


def test_path_found_in_order(user_client, graph):
    response = user_client.get(
        "/api/v1/graph/path/",
        {"source": graph["bob"].pk, "target": graph["france"].pk, "direction": "outgoing"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["length"] == 4
    assert [n["name"] for n in body["nodes"]] == ["bob", "alice", "acme", "paris", "france"]
    assert [e["type"] for e in body["edges"]] == ["knows", "works_for", "located_in", "part_of"]


def test_path_not_found_is_a_clear_404(user_client, graph):
    error = assert_error(
        user_client.get("/api/v1/graph/path/", {"source": graph["alice"].pk, "target": graph["loner"].pk}),
        404,
        "path_not_found",
    )
    assert "6 hops" in error["message"]
    assert error["details"] == {"source": graph["alice"].pk, "target": graph["loner"].pk, "max_depth": 6}


def test_path_beyond_max_depth_is_not_found(user_client, graph):
    params = {"source": graph["bob"].pk, "target": graph["france"].pk}
    assert_error(user_client.get("/api/v1/graph/path/", {**params, "max_depth": 3}), 404, "path_not_found")
    assert user_client.get("/api/v1/graph/path/", {**params, "max_depth": 4}).status_code == 200
    # Walking only backwards there is no way from bob to france at all.
    assert_error(
        user_client.get("/api/v1/graph/path/", {**params, "direction": "incoming"}), 404, "path_not_found"
    )


def test_path_end_not_visible_is_404(user_client, other_user, graph):
    foreign = build_graph(other_user, [("x", "y")])
    response = user_client.get(
        "/api/v1/graph/path/", {"source": graph["alice"].pk, "target": foreign["x"].pk}
    )
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"target": 1}, "source"),
        ({"source": "abc", "target": 1}, "source"),
        ({"source": 1, "target": "1.5"}, "target"),
        ({"source": 1, "target": 2, "max_depth": 7}, "max_depth"),
        ({"source": 1, "target": 2, "max_depth": 0}, "max_depth"),
        ({"source": 1, "target": 2, "direction": "up"}, "direction"),
    ],
)
def test_path_rejects_bad_parameters(user_client, params, field):
    assert_error(user_client.get("/api/v1/graph/path/", params), 400, "validation_error", field)


# --- subgraph export -----------------------------------------------------------------------


def test_subgraph_json(user_client, graph):
    body = user_client.get("/api/v1/graph/subgraph/", {"entity": graph["acme"].pk, "depth": 1}).json()
    assert {n["name"] for n in body["nodes"]} == {"acme", "alice", "paris"}
    assert {e["type"] for e in body["edges"]} == {"works_for", "located_in"}


def test_subgraph_cytoscape(user_client, graph):
    response = user_client.get(
        "/api/v1/graph/subgraph/", {"entity": graph["alice"].pk, "depth": 2, "format": "cytoscape"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    elements = response.json()["elements"]
    node_ids = {n["data"]["id"] for n in elements["nodes"]}
    assert node_ids == {str(graph[name].pk) for name in ("alice", "acme", "bob", "paris")}
    labels = {n["data"]["label"] for n in elements["nodes"]}
    assert labels == {"alice", "acme", "bob", "paris"}
    for edge in elements["edges"]:
        assert edge["data"]["source"] in node_ids
        assert edge["data"]["target"] in node_ids
        assert edge["data"]["id"] not in node_ids
    assert {e["data"]["label"] for e in elements["edges"]} == {"works_for", "knows", "located_in"}


def test_subgraph_graphml_parses_with_networkx(user_client, graph):
    response = user_client.get(
        "/api/v1/graph/subgraph/", {"entity": graph["alice"].pk, "depth": 3, "format": "graphml"}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/graphml+xml"
    assert response["Content-Disposition"] == f'attachment; filename="subgraph-{graph["alice"].pk}.graphml"'
    parsed = nx.read_graphml(io.BytesIO(response.content))
    assert parsed.is_directed()
    names = {data["name"] for _, data in parsed.nodes(data=True)}
    assert names == {"alice", "acme", "bob", "paris", "france"}
    by_name = {data["name"]: node for node, data in parsed.nodes(data=True)}
    assert parsed.nodes[by_name["paris"]]["distance"] == 2
    assert parsed.has_edge(by_name["paris"], by_name["france"])
    edge_types = {data["type"] for _, _, data in parsed.edges(data=True)}
    assert edge_types == {"works_for", "located_in", "part_of", "knows"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"entity": 1, "format": "svg"}, "format"),
        ({"entity": "x"}, "entity"),
        ({}, "entity"),
        ({"entity": 1, "depth": 6}, "depth"),
    ],
)
def test_subgraph_rejects_bad_parameters(user_client, params, field):
    assert_error(user_client.get("/api/v1/graph/subgraph/", params), 400, "validation_error", field)


def test_subgraph_of_foreign_entity_is_404(other_client, graph):
    response = other_client.get("/api/v1/graph/subgraph/", {"entity": graph["alice"].pk, "format": "graphml"})
    assert_error(response, 404, "not_found")


def test_schema_documents_graph_endpoints(admin_client_api):
    response = admin_client_api.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    neighbors = paths["/api/v1/entities/{id}/neighbors/"]["get"]
    assert {p["name"] for p in neighbors["parameters"]} >= {
        "depth",
        "direction",
        "types",
        "min_confidence",
        "limit",
    }
    subgraph = paths["/api/v1/graph/subgraph/"]["get"]
    assert set(subgraph["responses"]["200"]["content"]) == {"application/json", "application/graphml+xml"}
    assert {p["name"] for p in paths["/api/v1/graph/path/"]["get"]["parameters"]} >= {
        "source",
        "target",
        "max_depth",
    }
