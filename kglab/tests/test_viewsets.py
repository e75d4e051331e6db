"""The shared API base: conditional requests and owner assignment, exercised through the
entity endpoints (the declarative per-model suites live beside each app)."""

import pytest

from entities.models import Entity
from entities.tests.factories import make_entity
from kglab.api.concurrency import etag_for
from kglab.api.testing import assert_error

pytestmark = pytest.mark.django_db


def url(entity):
    return f"/api/v1/entities/{entity.pk}/"


@pytest.mark.parametrize(
    "header",
    ["*", '"{pk}-1"', 'W/"{pk}-1"', '"other", "{pk}-1"', ' "{pk}-1" '],
)
def test_if_match_forms_that_match(user_client, user, header):
    entity = make_entity(user)
    response = user_client.patch(url(entity), {"description": "x"}, HTTP_IF_MATCH=header.format(pk=entity.pk))
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("header", ['"{pk}-2"', '"{pk}"', "garbage", '"0-1"'])
def test_if_match_forms_that_do_not_match(user_client, user, header):
    entity = make_entity(user)
    details = assert_error(
        user_client.put(
            url(entity), {"name": "New", "type": "concept"}, HTTP_IF_MATCH=header.format(pk=entity.pk)
        ),
        412,
        "precondition_failed",
    )
    assert details["current_etag"] == etag_for(entity)
    entity.refresh_from_db()
    assert entity.name != "New"


def test_if_none_match_with_an_old_tag_returns_the_row(user_client, user):
    entity = make_entity(user)
    old = etag_for(entity)
    user_client.patch(url(entity), {"description": "changed"})
    response = user_client.get(url(entity), HTTP_IF_NONE_MATCH=old)
    assert response.status_code == 200
    assert response.json()["description"] == "changed"
    assert response["ETag"] != old


def test_etag_follows_every_write(user_client, user):
    response = user_client.post("/api/v1/entities/", {"name": "Ada", "type": "person"})
    tags = [response["ETag"]]
    entity_id = response.json()["id"]
    for text in ("one", "two"):
        tags.append(user_client.patch(f"/api/v1/entities/{entity_id}/", {"description": text})["ETag"])
    assert len(set(tags)) == 3
    assert tags[-1] == etag_for(Entity.objects.get(pk=entity_id))


def test_unknown_owner_is_400_for_admins(admin_client_api):
    details = assert_error(
        admin_client_api.post("/api/v1/entities/", {"name": "x", "type": "person", "owner": 10**9}),
        400,
        "validation_error",
    )
    assert "owner" in details["fields"]


def test_naming_yourself_as_owner_is_allowed(user_client, user):
    response = user_client.post("/api/v1/entities/", {"name": "x", "type": "person", "owner": user.pk})
    assert response.status_code == 201
    assert response.json()["owner"] == user.pk


def test_inactive_user_token_is_refused(user_client, user):
    user.is_active = False
    user.save(update_fields=["is_active"])
    response = user_client.get("/api/v1/entities/")
    assert response.status_code == 401
    assert set(response.json()) == {"error"}
