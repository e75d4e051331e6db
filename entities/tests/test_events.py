"""Outbox events: one per change, in order, with the row as payload; none for failed requests."""

import pytest

from entities.tests.factories import make_entity
from kglab.api.testing import assert_error
from kglab.models import Event
from relationships.tests.factories import make_relationship

pytestmark = pytest.mark.django_db


def new_events(after: int) -> list[Event]:
    return list(Event.objects.filter(sequence__gt=after).order_by("sequence"))


def last_sequence() -> int:
    return Event.objects.order_by("-sequence").values_list("sequence", flat=True).first() or 0


def test_entity_lifecycle_events_in_order(user_client, user):
    start = last_sequence()
    created = user_client.post("/api/v1/entities/", {"name": "Ada", "type": "person"}).json()
    user_client.patch(f"/api/v1/entities/{created['id']}/", {"description": "Mathematician"})
    user_client.delete(f"/api/v1/entities/{created['id']}/")
    events = new_events(start)
    assert [e.type for e in events] == ["entity.created", "entity.updated", "entity.deleted"]
    assert all(e.owner_id == user.pk and e.aggregate_type == "entity" for e in events)
    assert {e.aggregate_id for e in events} == {str(created["id"])}
    assert events[0].payload["name"] == "Ada"
    assert events[1].payload["description"] == "Mathematician"
    assert events[1].payload["version"] == 2
    assert events[2].payload["deleted_relationship_ids"] == []


def test_deleting_an_entity_lists_its_removed_relationships(user_client, user):
    hub = make_entity(user)
    edges = [make_relationship(user, source=hub), make_relationship(user, target=hub)]
    start = last_sequence()
    assert user_client.delete(f"/api/v1/entities/{hub.pk}/").status_code == 204
    events = new_events(start)
    assert [e.type for e in events] == ["entity.deleted"]
    assert events[0].payload["deleted_relationship_ids"] == sorted(edge.pk for edge in edges)
    assert user_client.get(f"/api/v1/relationships/{edges[0].pk}/").status_code == 404


def test_relationship_lifecycle_events(user_client, user):
    a, b = make_entity(user), make_entity(user)
    start = last_sequence()
    created = user_client.post(
        "/api/v1/relationships/", {"source": a.pk, "target": b.pk, "type": "knows"}
    ).json()
    user_client.patch(f"/api/v1/relationships/{created['id']}/", {"confidence": 0.5})
    user_client.delete(f"/api/v1/relationships/{created['id']}/")
    events = new_events(start)
    assert [e.type for e in events] == [
        "relationship.created",
        "relationship.updated",
        "relationship.deleted",
    ]
    assert events[0].payload["source"] == a.pk
    assert events[1].payload["confidence"] == 0.5
    assert events[2].payload["id"] == created["id"]


def test_failed_requests_write_no_event(user_client, other_client, user):
    entity = make_entity(user, name="Ada", type="person")
    start = last_sequence()
    assert_error(user_client.post("/api/v1/entities/", {"name": "ada", "type": "person"}), 409, "conflict")
    assert_error(user_client.post("/api/v1/entities/", {"name": "x", "type": "Bad"}), 400, "validation_error")
    assert_error(other_client.patch(f"/api/v1/entities/{entity.pk}/", {"description": "x"}), 404, "not_found")
    assert_error(other_client.delete(f"/api/v1/entities/{entity.pk}/"), 404, "not_found")
    assert_error(
        user_client.post(
            "/api/v1/entities/bulk/", {"items": [{"name": "ok", "type": "person"}, {"name": ""}]}
        ),
        400,
        "validation_error",
    )
    assert new_events(start) == []
