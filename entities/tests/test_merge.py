"""Merging entities: edges kept, duplicates combined, self-loops dropped, one transaction."""

import pytest

from entities.models import Entity
from entities.tests.factories import make_entity
from kglab.api.testing import assert_error
from kglab.models import Event
from relationships.models import Relationship
from relationships.tests.factories import make_relationship

pytestmark = pytest.mark.django_db


@pytest.fixture
def graph(user):
    """Two spellings of one person (survivor `ada`, duplicate `lovelace`) and their edges."""
    ada = make_entity(
        user,
        name="Ada Lovelace",
        type="person",
        confidence=0.6,
        metadata={"a": 1},
        provenance=[{"source": "doc-1"}],
        mention_count=2,
    )
    lovelace = make_entity(
        user,
        name="A. Lovelace",
        type="person",
        aliases=["Countess"],
        confidence=0.9,
        metadata={"a": 2, "b": 3},
        provenance=[{"source": "doc-2"}],
        mention_count=1,
        description="Mathematician",
    )
    babbage = make_entity(user, name="Charles Babbage", type="person")
    engine = make_entity(user, name="Analytical Engine", type="product")
    edges = {
        "ada_knows_babbage": make_relationship(
            user, source=ada, target=babbage, type="knows", confidence=0.5, evidence=[{"text": "one"}]
        ),
        "dup_knows_babbage": make_relationship(
            user, source=lovelace, target=babbage, type="knows", confidence=0.8, evidence=[{"text": "two"}]
        ),
        "dup_wrote_engine": make_relationship(user, source=lovelace, target=engine, type="wrote_about"),
        "babbage_met_dup": make_relationship(user, source=babbage, target=lovelace, type="met"),
        "ada_same_dup": make_relationship(user, source=ada, target=lovelace, type="same_as"),
    }
    return {"ada": ada, "lovelace": lovelace, "babbage": babbage, "engine": engine, **edges}


def edge_set():
    return set(Relationship.objects.values_list("source_id", "target_id", "type"))


def test_merge_keeps_every_edge(user_client, graph):
    ada, lovelace, babbage, engine = graph["ada"], graph["lovelace"], graph["babbage"], graph["engine"]
    response = user_client.post(f"/api/v1/entities/{ada.pk}/merge/", {"merge_ids": [lovelace.pk]})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["merged_ids"] == [lovelace.pk]
    assert body["relationships"] == {"redirected": 2, "combined": 1, "dropped_self_loops": 1}
    assert edge_set() == {
        (ada.pk, babbage.pk, "knows"),
        (ada.pk, engine.pk, "wrote_about"),
        (babbage.pk, ada.pk, "met"),
    }
    knows = Relationship.objects.get(type="knows")
    assert knows.pk == graph["ada_knows_babbage"].pk  # the edge already in place survives
    assert knows.confidence == 0.8
    assert [e["text"] for e in knows.evidence] == ["one", "two"]

    assert not Entity.objects.filter(pk=lovelace.pk).exists()
    ada.refresh_from_db()
    assert ada.aliases == ["A. Lovelace", "Countess"]
    assert ada.metadata == {"a": 1, "b": 3}  # the survivor's own keys win
    assert [p["source"] for p in ada.provenance] == ["doc-1", "doc-2"]
    assert (ada.mention_count, ada.confidence, ada.description) == (3, 0.9, "Mathematician")
    assert ada.version == 2
    assert body["entity"]["version"] == 2
    assert response["ETag"] == f'"{ada.pk}-2"'

    event = Event.objects.order_by("-sequence").first()
    assert event.type == "entity.merged"
    assert event.payload["merged_ids"] == [lovelace.pk]
    assert event.payload["survivor"]["id"] == ada.pk
    assert event.payload["relationships"]["combined"] == 1


@pytest.mark.parametrize("merge_ids", [[], "x", [0]])
def test_bad_merge_ids_are_400(user_client, graph, merge_ids):
    assert_error(
        user_client.post(
            f"/api/v1/entities/{graph['ada'].pk}/merge/", {"merge_ids": merge_ids}, format="json"
        ),
        400,
        "validation_error",
    )


def test_merge_into_itself_is_400_and_changes_nothing(user_client, graph):
    ada = graph["ada"]
    before = edge_set()
    details = assert_error(
        user_client.post(f"/api/v1/entities/{ada.pk}/merge/", {"merge_ids": [ada.pk, graph["lovelace"].pk]}),
        400,
        "validation_error",
    )
    assert "merge_ids" in details["fields"]
    assert edge_set() == before
    assert Entity.objects.filter(pk=graph["lovelace"].pk).exists()


def test_foreign_entities_are_404_and_nothing_moves(user_client, other_user, graph):
    foreign = make_entity(other_user)
    before = edge_set()
    assert_error(
        user_client.post(
            f"/api/v1/entities/{graph['ada'].pk}/merge/", {"merge_ids": [graph["lovelace"].pk, foreign.pk]}
        ),
        404,
        "not_found",
    )
    assert edge_set() == before
    assert Entity.objects.filter(pk=graph["lovelace"].pk).exists()
    # Nor can another user merge into someone else's entity.
    assert_error(
        user_client.post(f"/api/v1/entities/{foreign.pk}/merge/", {"merge_ids": [graph["lovelace"].pk]}),
        404,
        "not_found",
    )


def test_moderator_merges_but_not_across_owners(moderator_client, other_user, graph):
    foreign = make_entity(other_user)
    details = assert_error(
        moderator_client.post(f"/api/v1/entities/{graph['ada'].pk}/merge/", {"merge_ids": [foreign.pk]}),
        400,
        "validation_error",
    )
    assert "merge_ids" in details["fields"]
    response = moderator_client.post(
        f"/api/v1/entities/{graph['ada'].pk}/merge/", {"merge_ids": [graph["lovelace"].pk]}
    )
    assert response.status_code == 200


def test_merge_honours_if_match_on_the_survivor(user_client, graph):
    ada, lovelace = graph["ada"], graph["lovelace"]
    before = edge_set()
    assert_error(
        user_client.post(
            f"/api/v1/entities/{ada.pk}/merge/", {"merge_ids": [lovelace.pk]}, HTTP_IF_MATCH='"0-0"'
        ),
        412,
        "precondition_failed",
    )
    assert edge_set() == before
    assert Entity.objects.filter(pk=lovelace.pk).exists()
    response = user_client.post(
        f"/api/v1/entities/{ada.pk}/merge/", {"merge_ids": [lovelace.pk]}, HTTP_IF_MATCH=f'"{ada.pk}-1"'
    )
    assert response.status_code == 200
