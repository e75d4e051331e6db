"""Declarative API tests for viewsets built on `OwnedModelViewSet`.

A test class for a model names its router basename and says how to make a row and what
valid create/update input is; the base then checks every endpoint the same way for an
anonymous caller (401), the owner, another user (404 on detail/update/delete, absent from
lists), a moderator and an admin, plus ETag/If-Match, query-count baselines and a guard
that every model field has a filter::

    class TestEntityAPI(OwnedAPIViewTests):
        basename = "entity"
        model = Entity
        event_aggregate = "entity"
        filter_exempt_fields = {"embedding": "vectors are searched, not filtered"}
        list_queries = 2
        detail_queries = 1

        def make(self, owner): ...
        def create_data(self, owner): ...
        def update_data(self, instance): ...

A viewset that offers only some endpoints combines the mixins it needs instead
(`ListTests`, `RetrieveTests`, `CreateTests`, `UpdateTests`, `DeleteTests`, all on
`APITestBase`); `OwnedAPIViewTests` is all five. Each test receives the users from the root
conftest fixtures (`user`, `other_user`, `moderator`, `admin_user`)."""

from __future__ import annotations

from typing import ClassVar

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import resolve, reverse
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from kglab.api.concurrency import etag_for
from kglab.models import Event


def api_client(user=None) -> APIClient:
    """An API client carrying a real JWT access token for `user` (anonymous for None)."""
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


def assert_error(response, status: int, code: str) -> dict:
    """The response is `status` in the one error shape with `code`; returns its details."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    return body["error"]["details"]


@pytest.mark.django_db
class APITestBase:
    """What every endpoint test mixin needs: the model's declaration and the helpers."""

    basename: ClassVar[str]
    model: ClassVar[type]
    # Prefix of the events the services record ("entity" -> entity.created ...); None: skip.
    event_aggregate: ClassVar[str | None] = None
    # Model fields deliberately without a filter, each with the reason.
    filter_exempt_fields: ClassVar[dict[str, str]] = {}
    list_queries: ClassVar[int] = 2
    detail_queries: ClassVar[int] = 1
    # Authentication looks the user up once per request.
    auth_queries: ClassVar[int] = 1

    def make(self, owner):
        """A saved row owned by `owner`."""
        raise NotImplementedError

    def create_data(self, owner) -> dict:
        """Valid POST input for `owner` (may create the rows it refers to)."""
        raise NotImplementedError

    def update_data(self, instance) -> dict:
        """Valid PATCH input for `instance`, changing at least one field."""
        raise NotImplementedError

    # --- helpers ------------------------------------------------------------------------

    def list_url(self) -> str:
        return reverse(f"{self.basename}-list")

    def detail_url(self, instance) -> str:
        return reverse(f"{self.basename}-detail", kwargs={"pk": instance.pk})

    def listed_ids(self, client, **params) -> set[int]:
        response = client.get(self.list_url(), {"page_size": 500, **params})
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    def events_of(self, instance) -> list[str]:
        return list(
            Event.objects.filter(aggregate_type=self.event_aggregate, aggregate_id=str(instance.pk))
            .order_by("sequence")
            .values_list("type", flat=True)
        )


class ListTests(APITestBase):
    """`GET <list>/`: authentication, pagination, isolation, owner filter, query count and a
    filter for every model field."""

    def test_anonymous_list_is_401(self):
        assert_error(api_client().get(self.list_url()), 401, "not_authenticated")

    def test_list_is_paginated_and_shows_only_own_rows(self, user, other_user):
        mine = [self.make(user), self.make(user)]
        theirs = self.make(other_user)
        response = api_client(user).get(self.list_url(), {"page_size": 1})
        assert response.status_code == 200
        body = response.json()
        assert {"count", "page", "page_size", "total_pages", "next", "previous", "results"} <= set(body)
        assert body["count"] == 2
        assert body["total_pages"] == 2
        assert len(body["results"]) == 1
        assert self.listed_ids(api_client(user)) == {row.pk for row in mine}
        assert self.listed_ids(api_client(other_user)) == {theirs.pk}

    def test_moderator_and_admin_list_every_owner_and_filter_by_owner(
        self, user, other_user, moderator, admin_user
    ):
        mine, theirs = self.make(user), self.make(other_user)
        for staff in (moderator, admin_user):
            client = api_client(staff)
            assert {mine.pk, theirs.pk} <= self.listed_ids(client)
            assert self.listed_ids(client, owner=other_user.pk) == {theirs.pk}

    def test_owner_filter_cannot_reach_another_users_rows(self, user, other_user):
        self.make(other_user)
        assert self.listed_ids(api_client(user), owner=other_user.pk) == set()
        assert self.listed_ids(api_client(user), owner=10**9) == set()

    def test_list_query_count_does_not_grow_with_rows(self, user):
        for _ in range(5):
            self.make(user)
        client = api_client(user)
        client.get(self.list_url())  # warm up: authentication caches, content types
        with CaptureQueriesContext(connection) as queries:
            response = client.get(self.list_url())
        assert response.status_code == 200
        assert len(queries) <= self.list_queries + self.auth_queries, [q["sql"] for q in queries]

    def test_every_model_field_has_a_filter(self):
        view = resolve(self.list_url()).func.cls
        filters = view.filterset_class.base_filters.values()
        covered = {f.field_name for f in filters} | set(view.filterset_class.base_filters)
        missing = []
        for field in self.model._meta.concrete_fields:
            names = {field.name, field.attname}
            if not names & covered and field.name not in self.filter_exempt_fields:
                missing.append(field.name)
        assert not missing, f"Model fields without a filter (add one or exempt it with a reason): {missing}"


class RetrieveTests(APITestBase):
    """`GET <detail>/`: ETag and If-None-Match, isolation, staff access, query count."""

    def test_anonymous_retrieve_is_401(self, user):
        assert_error(api_client().get(self.detail_url(self.make(user))), 401, "not_authenticated")

    def test_retrieve_carries_etag_and_honours_if_none_match(self, user):
        row = self.make(user)
        client = api_client(user)
        response = client.get(self.detail_url(row))
        assert response.status_code == 200
        assert response.json()["id"] == row.pk
        assert response["ETag"] == etag_for(row)
        cached = client.get(self.detail_url(row), HTTP_IF_NONE_MATCH=response["ETag"])
        assert cached.status_code == 304

    def test_retrieve_of_another_users_row_is_404(self, user, other_user):
        row = self.make(user)
        assert_error(api_client(other_user).get(self.detail_url(row)), 404, "not_found")

    def test_moderator_and_admin_retrieve_any_row(self, user, moderator, admin_user):
        row = self.make(user)
        for staff in (moderator, admin_user):
            assert api_client(staff).get(self.detail_url(row)).status_code == 200

    def test_retrieve_query_count(self, user):
        row = self.make(user)
        client = api_client(user)
        client.get(self.detail_url(row))
        with CaptureQueriesContext(connection) as queries:
            response = client.get(self.detail_url(row))
        assert response.status_code == 200
        assert len(queries) <= self.detail_queries + self.auth_queries, [q["sql"] for q in queries]


class CreateTests(APITestBase):
    """`POST <list>/`: the caller owns what they create; only admins create for others."""

    def test_anonymous_create_is_401(self, user):
        before = self.model.objects.count()
        assert_error(api_client().post(self.list_url(), self.create_data(user)), 401, "not_authenticated")
        assert self.model.objects.count() == before

    def test_create_sets_the_caller_as_owner(self, user):
        response = api_client(user).post(self.list_url(), self.create_data(user))
        assert response.status_code == 201, response.content
        body = response.json()
        row = self.model.objects.get(pk=body["id"])
        assert row.owner_id == user.pk == body["owner"]
        assert body["version"] == 1
        assert response["ETag"] == etag_for(row)
        if self.event_aggregate:
            assert self.events_of(row) == [f"{self.event_aggregate}.created"]

    def test_only_admins_create_for_another_owner(self, user, other_user, moderator, admin_user):
        data = {**self.create_data(other_user), "owner": other_user.pk}
        before = self.model.objects.count()
        assert_error(api_client(user).post(self.list_url(), data), 403, "permission_denied")
        assert_error(api_client(moderator).post(self.list_url(), data), 403, "permission_denied")
        assert self.model.objects.count() == before
        response = api_client(admin_user).post(self.list_url(), data)
        assert response.status_code == 201, response.content
        assert self.model.objects.get(pk=response.json()["id"]).owner_id == other_user.pk


class UpdateTests(APITestBase):
    """`PATCH <detail>/`: version and ETag, If-Match on the locked row, isolation, staff."""

    def test_anonymous_update_is_401(self, user):
        row = self.make(user)
        assert_error(
            api_client().patch(self.detail_url(row), self.update_data(row)), 401, "not_authenticated"
        )
        row.refresh_from_db()
        assert row.version == 1

    def test_owner_patch_bumps_version_and_etag(self, user):
        row = self.make(user)
        client = api_client(user)
        response = client.patch(self.detail_url(row), self.update_data(row), HTTP_IF_MATCH=etag_for(row))
        assert response.status_code == 200, response.content
        row.refresh_from_db()
        assert row.version == 2 == response.json()["version"]
        assert response["ETag"] == etag_for(row)
        if self.event_aggregate:
            assert self.events_of(row)[-1] == f"{self.event_aggregate}.updated"

    def test_stale_if_match_is_412_and_writes_nothing(self, user):
        row = self.make(user)
        stale = etag_for(row)
        client = api_client(user)
        assert client.patch(self.detail_url(row), self.update_data(row)).status_code == 200
        events = Event.objects.count()
        details = assert_error(
            client.patch(self.detail_url(row), self.update_data(row), HTTP_IF_MATCH=stale),
            412,
            "precondition_failed",
        )
        row.refresh_from_db()
        assert details["current_etag"] == etag_for(row)
        assert row.version == 2
        assert Event.objects.count() == events

    def test_update_of_another_users_row_is_404(self, user, other_user):
        row = self.make(user)
        response = api_client(other_user).patch(self.detail_url(row), self.update_data(row))
        assert_error(response, 404, "not_found")
        row.refresh_from_db()
        assert row.version == 1

    def test_moderator_and_admin_update_any_row(self, user, moderator, admin_user):
        row = self.make(user)
        for staff in (moderator, admin_user):
            row.refresh_from_db()
            response = api_client(staff).patch(self.detail_url(row), self.update_data(row))
            assert response.status_code == 200, response.content
            assert response.json()["owner"] == user.pk


class DeleteTests(APITestBase):
    """`DELETE <detail>/`: isolation, If-Match, and owner, moderator and admin may delete."""

    def test_anonymous_delete_is_401(self, user):
        row = self.make(user)
        assert_error(api_client().delete(self.detail_url(row)), 401, "not_authenticated")
        assert self.model.objects.filter(pk=row.pk).exists()

    def test_stale_if_match_delete_is_412(self, user):
        row = self.make(user)
        stale = etag_for(row)
        row.version += 1
        type(row).objects.filter(pk=row.pk).update(version=row.version)
        client = api_client(user)
        assert_error(client.delete(self.detail_url(row), HTTP_IF_MATCH=stale), 412, "precondition_failed")
        assert self.model.objects.filter(pk=row.pk).exists()
        assert client.delete(self.detail_url(row), HTTP_IF_MATCH=etag_for(row)).status_code == 204

    def test_delete_by_another_user_is_404(self, user, other_user):
        row = self.make(user)
        assert_error(api_client(other_user).delete(self.detail_url(row)), 404, "not_found")
        assert self.model.objects.filter(pk=row.pk).exists()

    def test_owner_moderator_and_admin_delete(self, user, moderator, admin_user):
        for actor in (user, moderator, admin_user):
            row = self.make(user)
            response = api_client(actor).delete(self.detail_url(row), HTTP_IF_MATCH=etag_for(row))
            assert response.status_code == 204, response.content
            assert not self.model.objects.filter(pk=row.pk).exists()
            if self.event_aggregate:
                assert self.events_of(row)[-1] == f"{self.event_aggregate}.deleted"
        assert_error(api_client(user).get(self.detail_url(row)), 404, "not_found")


class OwnedAPIViewTests(ListTests, RetrieveTests, CreateTests, UpdateTests, DeleteTests):
    """Every endpoint of an `OwnedModelViewSet`; take the mixins one by one for a viewset
    that offers only some of them."""
