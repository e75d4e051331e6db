"""The entity API: the shared endpoint contract, then entity-specific behaviour."""

import pytest

from entities.models import Entity
from entities.tests.factories import make_entity
from kglab.api.testing import OwnedAPIViewTests, assert_error
from kglab.models import Event

pytestmark = pytest.mark.django_db


class TestEntityAPI(OwnedAPIViewTests):
    basename = "entity"
    model = Entity
    event_aggregate = "entity"
    filter_exempt_fields = {
        "embedding": "vectors are compared by similarity search, not filtered",
        "metadata": "free-form JSON; `q` searches the text fields",
        "provenance": "free-form JSON list of sources",
    }
    list_queries = 2  # count + page
    detail_queries = 1

    def make(self, owner):
        return make_entity(owner)

    def create_data(self, owner):
        return {"name": "Grace Hopper", "type": "person", "aliases": ["Amazing Grace"], "confidence": 0.9}

    def update_data(self, instance):
        return {"description": f"changed from version {instance.version}"}


def test_create_returns_the_stored_entity(user_client, user):
    response = user_client.post(
        "/api/v1/entities/",
        {
            "name": "  Ada   Lovelace ",
            "type": "person",
            "aliases": ["ada lovelace", "Countess"],
            "metadata": {"born": 1815},
            "provenance": [{"source": "doc-1"}],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "Ada   Lovelace"
    assert body["normalized_name"] == "ada lovelace"
    assert body["aliases"] == ["Countess"]  # the primary name is never an alias
    assert body["confidence"] == 1.0
    assert body["created_by"] == user.pk
    assert body["created_via"] == "api"
    assert "embedding" not in body


def test_duplicate_name_in_type_is_409_with_existing_id(user_client, user):
    existing = make_entity(user, name="Ada Lovelace", type="person")
    events = Event.objects.count()
    response = user_client.post("/api/v1/entities/", {"name": "ADA  lovelace", "type": "person"})
    details = assert_error(response, 409, "conflict")
    assert details["existing_id"] == existing.pk
    assert Event.objects.count() == events
    # Another type, or another owner, is a different entity.
    assert (
        user_client.post("/api/v1/entities/", {"name": "Ada Lovelace", "type": "concept"}).status_code == 201
    )


def test_rename_onto_another_entity_is_409(user_client, user):
    ada = make_entity(user, name="Ada", type="person")
    other = make_entity(user, name="Grace", type="person")
    details = assert_error(
        user_client.patch(f"/api/v1/entities/{other.pk}/", {"name": "ada"}), 409, "conflict"
    )
    assert details["existing_id"] == ada.pk
    other.refresh_from_db()
    assert (other.name, other.version) == ("Grace", 1)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "", "type": "person"}, "name"),
        ({"name": "   ", "type": "person"}, "name"),
        ({"name": "x", "type": "Not A Slug"}, "type"),
        ({"name": "x", "type": "person", "confidence": 1.5}, "confidence"),
        ({"name": "x", "type": "person", "confidence": -0.1}, "confidence"),
        ({"name": "x", "type": "person", "metadata": [1, 2]}, "metadata"),
        ({"name": "x", "type": "person", "provenance": {"source": "a"}}, "provenance"),
        ({"name": "x" * 513, "type": "person"}, "name"),
        ({"type": "person"}, "name"),
    ],
)
def test_invalid_input_is_400_naming_the_field(user_client, data, field):
    details = assert_error(user_client.post("/api/v1/entities/", data), 400, "validation_error")
    assert field in details["fields"]
    assert not Entity.objects.exists()
    assert not Event.objects.exists()


def test_put_replaces_and_unchanged_patch_writes_nothing(user_client, user):
    entity = make_entity(user, name="Ada", type="person", description="old")
    response = user_client.put(
        f"/api/v1/entities/{entity.pk}/", {"name": "Ada Lovelace", "type": "person", "description": "new"}
    )
    assert response.status_code == 200, response.content
    assert (response.json()["name"], response.json()["version"]) == ("Ada Lovelace", 2)
    events = Event.objects.count()
    same = user_client.patch(f"/api/v1/entities/{entity.pk}/", {"description": "new"})
    assert same.status_code == 200
    assert same.json()["version"] == 2
    assert Event.objects.count() == events


def test_owner_cannot_be_changed(admin_client_api, user, other_user):
    entity = make_entity(user)
    details = assert_error(
        admin_client_api.patch(f"/api/v1/entities/{entity.pk}/", {"owner": other_user.pk}),
        400,
        "validation_error",
    )
    assert "owner" in details["fields"]


def test_filters(user_client, user):
    ada = make_entity(
        user,
        name="Ada Lovelace",
        type="person",
        confidence=0.9,
        aliases=["Countess"],
        description="wrote the first program",
    )
    ibm = make_entity(user, name="IBM", type="organization", confidence=0.5)
    engine = make_entity(user, name="Analytical Engine", type="product", confidence=0.2)

    def ids(**params):
        response = user_client.get("/api/v1/entities/", params)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert set(ids(type="person,organization")) == {ada.pk, ibm.pk}
    assert set(ids(type=["person", "product"])) == {ada.pk, engine.pk}
    assert ids(name="ada  LOVELACE") == [ada.pk]
    assert ids(name__icontains="engine") == [engine.pk]
    assert ids(name_fuzzy="Ada Lovelase") == [ada.pk]
    assert set(ids(confidence_min=0.5)) == {ada.pk, ibm.pk}
    assert ids(confidence_min=0.3, confidence_max=0.6) == [ibm.pk]
    assert ids(alias="Countess") == [ada.pk]
    assert ids(q="program") == [ada.pk]  # full text over the description
    assert ids(q="countess") == [ada.pk]  # and the aliases
    assert ids(q="Analytcal Engine")[0] == engine.pk  # trigram catches the typo
    assert ids(ordering="confidence") == [engine.pk, ibm.pk, ada.pk]
    assert ids() == [engine.pk, ibm.pk, ada.pk]  # newest first by default
    details = assert_error(
        user_client.get("/api/v1/entities/", {"confidence_min": "high"}), 400, "validation_error"
    )
    assert "confidence_min" in details["fields"]


def test_created_and_updated_range_filters(user_client, user):
    entity = make_entity(user)
    stamp = entity.created_at.isoformat()
    assert user_client.get("/api/v1/entities/", {"created_after": stamp}).json()["count"] == 1
    assert (
        user_client.get("/api/v1/entities/", {"created_before": "2000-01-01T00:00:00Z"}).json()["count"] == 0
    )
    assert user_client.get("/api/v1/entities/", {"updated_after": stamp}).json()["count"] == 1
