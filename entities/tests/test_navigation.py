"""An entity's relationships by direction, and similar entities."""

import pytest

from entities.tests.factories import make_entity
from kglab.api.testing import assert_error
from relationships.tests.factories import make_relationship

pytestmark = pytest.mark.django_db


def test_relationships_by_direction_type_and_confidence(user_client, user):
    hub, a, b = make_entity(user), make_entity(user), make_entity(user)
    out_strong = make_relationship(user, source=hub, target=a, type="knows", confidence=0.9)
    out_weak = make_relationship(user, source=hub, target=b, type="cites", confidence=0.2)
    incoming = make_relationship(user, source=a, target=hub, type="knows", confidence=0.7)
    make_relationship(user, source=a, target=b, type="knows")

    def ids(**params):
        response = user_client.get(f"/api/v1/entities/{hub.pk}/relationships/", params)
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["count"] == len(body["results"])
        return {row["id"] for row in body["results"]}

    assert ids() == {out_strong.pk, out_weak.pk, incoming.pk}
    assert ids(direction="outgoing") == {out_strong.pk, out_weak.pk}
    assert ids(direction="incoming") == {incoming.pk}
    assert ids(type="knows") == {out_strong.pk, incoming.pk}
    assert ids(direction="outgoing", min_confidence=0.5) == {out_strong.pk}
    assert_error(
        user_client.get(f"/api/v1/entities/{hub.pk}/relationships/", {"direction": "sideways"}),
        400,
        "validation_error",
    )


def test_relationships_of_a_foreign_entity_are_404(other_client, user):
    entity = make_entity(user)
    assert_error(other_client.get(f"/api/v1/entities/{entity.pk}/relationships/"), 404, "not_found")


def test_similar_entities(user_client, user, other_user):
    ada = make_entity(user, name="Ada Lovelace", type="person", aliases=["Countess of Lovelace"])
    typo = make_entity(user, name="Ada Lovelase", type="person")
    by_alias = make_entity(user, name="A. King", type="person", aliases=["Countess of Lovelace"])
    make_entity(user, name="Charles Babbage", type="person")
    make_entity(other_user, name="Ada Lovelace", type="person")  # another owner's: never offered

    response = user_client.get(f"/api/v1/entities/{ada.pk}/similar/")
    assert response.status_code == 200, response.content
    rows = response.json()
    assert {row["id"] for row in rows} == {typo.pk, by_alias.pk}
    assert all(0.3 <= row["similarity"] <= 1 for row in rows)
    assert rows == sorted(rows, key=lambda row: -row["similarity"])

    strict = user_client.get(f"/api/v1/entities/{ada.pk}/similar/", {"threshold": 0.95, "limit": 5}).json()
    assert {row["id"] for row in strict} == {by_alias.pk}
    assert len(user_client.get(f"/api/v1/entities/{ada.pk}/similar/", {"limit": 1}).json()) == 1
    assert_error(
        user_client.get(f"/api/v1/entities/{ada.pk}/similar/", {"threshold": 2}), 400, "validation_error"
    )
    assert_error(
        user_client.get(f"/api/v1/entities/{ada.pk}/similar/", {"limit": 0}), 400, "validation_error"
    )
