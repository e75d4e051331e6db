"""The relationship API: the shared endpoint contract, then edge-specific rules."""

from datetime import UTC, datetime

import pytest

from entities.tests.factories import make_entity
from kglab.api.testing import OwnedAPIViewTests, assert_error
from kglab.models import Event
from relationships.models import Relationship
from relationships.tests.factories import make_relationship

pytestmark = pytest.mark.django_db


class TestRelationshipAPI(OwnedAPIViewTests):
    basename = "relationship"
    model = Relationship
    event_aggregate = "relationship"
    filter_exempt_fields = {
        "metadata": "free-form JSON",
        "evidence": "free-form JSON list of supporting sentences",
    }
    list_queries = 2
    detail_queries = 1

    def make(self, owner):
        return make_relationship(owner)

    def create_data(self, owner):
        return {
            "source": make_entity(owner).pk,
            "target": make_entity(owner).pk,
            "type": "works_for",
            "confidence": 0.8,
            "evidence": [{"text": "She works for them.", "source": "doc-1"}],
        }

    def update_data(self, instance):
        return {"confidence": round(instance.confidence / 2, 3)}


def test_ends_of_another_user_are_not_found(user_client, user, other_user):
    mine = make_entity(user)
    theirs = make_entity(other_user)
    details = assert_error(
        user_client.post("/api/v1/relationships/", {"source": mine.pk, "target": theirs.pk, "type": "knows"}),
        400,
        "validation_error",
    )
    assert details["fields"]["target"] == ["Entity not found."]
    assert not Relationship.objects.exists()
    # An id that does not exist at all reads the same: nothing leaks.
    details = assert_error(
        user_client.post("/api/v1/relationships/", {"source": mine.pk, "target": 10**9, "type": "knows"}),
        400,
        "validation_error",
    )
    assert details["fields"]["target"] == ["Entity not found."]


def test_both_ends_must_belong_to_the_owner(moderator_client, user, other_user):
    # A moderator sees both users' entities but cannot join them into one edge.
    a, b = make_entity(user), make_entity(other_user)
    details = assert_error(
        moderator_client.post("/api/v1/relationships/", {"source": a.pk, "target": b.pk, "type": "knows"}),
        400,
        "validation_error",
    )
    assert set(details["fields"]) == {"source", "target"}


def test_admin_creates_for_the_owner_of_the_ends(admin_client_api, user):
    a, b = make_entity(user), make_entity(user)
    response = admin_client_api.post(
        "/api/v1/relationships/", {"source": a.pk, "target": b.pk, "type": "knows", "owner": user.pk}
    )
    assert response.status_code == 201, response.content
    assert response.json()["owner"] == user.pk


def test_self_loop_and_bad_period_are_400(user_client, user):
    a, b = make_entity(user), make_entity(user)
    assert_error(
        user_client.post("/api/v1/relationships/", {"source": a.pk, "target": a.pk, "type": "knows"}),
        400,
        "validation_error",
    )
    details = assert_error(
        user_client.post(
            "/api/v1/relationships/",
            {
                "source": a.pk,
                "target": b.pk,
                "type": "knows",
                "valid_from": "2024-01-02T00:00:00Z",
                "valid_to": "2024-01-01T00:00:00Z",
            },
        ),
        400,
        "validation_error",
    )
    assert "valid_to" in details["fields"]
    assert not Event.objects.filter(type="relationship.created").exists()


def test_duplicate_edge_is_409_with_existing_id(user_client, user):
    edge = make_relationship(user)
    details = assert_error(
        user_client.post(
            "/api/v1/relationships/", {"source": edge.source_id, "target": edge.target_id, "type": edge.type}
        ),
        409,
        "conflict",
    )
    assert details["existing_id"] == edge.pk
    # The reverse direction is another edge.
    response = user_client.post(
        "/api/v1/relationships/", {"source": edge.target_id, "target": edge.source_id, "type": edge.type}
    )
    assert response.status_code == 201


def test_filters(user_client, user):
    a, b, c = make_entity(user), make_entity(user), make_entity(user)
    ab = make_relationship(user, source=a, target=b, type="knows", confidence=0.9)
    bc = make_relationship(user, source=b, target=c, type="works_for", confidence=0.4)
    ca = make_relationship(
        user,
        source=c,
        target=a,
        type="knows",
        confidence=0.1,
        valid_from=datetime(2020, 1, 1, tzinfo=UTC),
        valid_to=datetime(2021, 1, 1, tzinfo=UTC),
    )

    def ids(**params):
        response = user_client.get("/api/v1/relationships/", params)
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    assert ids(source=a.pk) == {ab.pk}
    assert ids(target=a.pk) == {ca.pk}
    assert ids(entity=a.pk) == {ab.pk, ca.pk}
    assert ids(type="knows") == {ab.pk, ca.pk}
    assert ids(type="knows,works_for", confidence_min=0.3) == {ab.pk, bc.pk}
    assert ids(confidence_max=0.5) == {bc.pk, ca.pk}
    assert ids(valid_at="2020-06-01T00:00:00Z") == {ab.pk, bc.pk, ca.pk}
    assert ids(valid_at="2022-06-01T00:00:00Z") == {ab.pk, bc.pk}
    assert_error(user_client.get("/api/v1/relationships/", {"source": "abc"}), 400, "validation_error")
