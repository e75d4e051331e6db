"""POST /api/v1/entities/bulk/ and /api/v1/relationships/bulk/."""

import pytest

from entities.models import Entity
from entities.services import BULK_MAX_ITEMS
from entities.tests.factories import make_entity
from kglab.api.testing import assert_error
from kglab.models import Event
from relationships.models import Relationship

pytestmark = pytest.mark.django_db

ITEMS = [
    {"name": "Ada Lovelace", "type": "person", "confidence": 0.8, "provenance": [{"source": "doc-1"}]},
    {"name": "Charles Babbage", "type": "person"},
    {"name": "ada lovelace", "type": "person", "aliases": ["Countess"]},
]


def test_entity_bulk_counts_results_and_idempotency(user_client, user):
    response = user_client.post("/api/v1/entities/bulk/", {"items": ITEMS})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["created"], body["updated"], body["unchanged"]) == (2, 0, 0)
    assert [r["status"] for r in body["results"]] == ["created", "created", "created"]
    assert body["results"][0]["id"] == body["results"][2]["id"]
    assert body["results"][0]["aliases"] == ["Countess"]
    assert all(r["owner"] == user.pk and r["created_via"] == "bulk" for r in body["results"])
    events = Event.objects.count()

    again = user_client.post("/api/v1/entities/bulk/", {"items": ITEMS}).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)
    assert Event.objects.count() == events


def test_entity_bulk_errors_name_the_item(user_client):
    details = assert_error(
        user_client.post("/api/v1/entities/bulk/", {"items": [ITEMS[0], {"name": "x", "type": "Bad Type"}]}),
        400,
        "validation_error",
    )
    assert details["fields"]["items"][0] == {}
    assert "type" in details["fields"]["items"][1]
    assert not Entity.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"items": "nope"},
        {"items": []},
        {"items": [{"name": f"n{i}", "type": "concept"} for i in range(BULK_MAX_ITEMS + 1)]},
        {"items": [{"name": "a", "type": "person"}], "extra": 1},
    ],
)
def test_entity_bulk_envelope_errors(user_client, body):
    assert_error(user_client.post("/api/v1/entities/bulk/", body), 400, "validation_error")
    assert not Entity.objects.exists()


def test_bulk_for_another_owner_is_admins_only(user_client, admin_client_api, other_user):
    body = {"owner": other_user.pk, "items": ITEMS}
    assert_error(user_client.post("/api/v1/entities/bulk/", body), 403, "permission_denied")
    response = admin_client_api.post("/api/v1/entities/bulk/", body)
    assert response.status_code == 200
    assert set(Entity.objects.values_list("owner_id", flat=True)) == {other_user.pk}
    assert_error(
        admin_client_api.post("/api/v1/entities/bulk/", {"owner": 10**9, "items": ITEMS}),
        400,
        "validation_error",
    )


def test_bulk_requires_authentication(anon_client):
    assert_error(anon_client.post("/api/v1/entities/bulk/", {"items": ITEMS}), 401, "not_authenticated")
    assert_error(anon_client.post("/api/v1/relationships/bulk/", {"items": []}), 401, "not_authenticated")


def test_relationship_bulk(user_client, user, other_user):
    ada = make_entity(user, name="Ada Lovelace", type="person")
    babbage = make_entity(user, name="Charles Babbage", type="person")
    foreign = make_entity(other_user, name="Mallory", type="person")
    items = [
        {"source": ada.pk, "target": babbage.pk, "type": "knows", "confidence": 0.7},
        {
            "source": {"type": "person", "name": "charles babbage"},
            "target": {"type": "person", "name": "Ada Lovelace"},
            "type": "knows",
            "evidence": [{"text": "letters"}],
        },
    ]
    body = user_client.post("/api/v1/relationships/bulk/", {"items": items}).json()
    assert (body["created"], body["updated"], body["unchanged"]) == (2, 0, 0)
    assert [(r["source"], r["target"]) for r in body["results"]] == [
        (ada.pk, babbage.pk),
        (babbage.pk, ada.pk),
    ]
    again = user_client.post("/api/v1/relationships/bulk/", {"items": items}).json()
    assert again["unchanged"] == 2

    details = assert_error(
        user_client.post(
            "/api/v1/relationships/bulk/",
            {"items": [items[0], {"source": ada.pk, "target": foreign.pk, "type": "knows"}]},
        ),
        400,
        "validation_error",
    )
    assert details["fields"]["items"][1] == {"target": ["Entity not found."]}
    assert Relationship.objects.count() == 2
