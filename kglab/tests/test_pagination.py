"""List responses carry count, page, page_size, total_pages, next and previous."""

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from accounts.models import User
from conftest import make_user
from kglab.api.pagination import PageNumberPagination

pytestmark = pytest.mark.django_db


@pytest.fixture
def seven_users():
    return [make_user() for _ in range(7)]


def _page(query: dict) -> tuple[PageNumberPagination, dict]:
    request = Request(APIRequestFactory().get("/api/v1/users/", query))
    paginator = PageNumberPagination()
    rows = paginator.paginate_queryset(User.objects.order_by("id"), request)
    return paginator, paginator.get_paginated_response([row.pk for row in rows]).data


def test_middle_page_metadata(seven_users):
    _, data = _page({"page": 2, "page_size": 3})
    assert data["count"] == 7
    assert data["page"] == 2
    assert data["page_size"] == 3
    assert data["total_pages"] == 3
    assert data["results"] == [user.pk for user in seven_users[3:6]]
    assert "page=3" in data["next"]
    assert "page_size=3" in data["next"]
    assert data["previous"].startswith("http://testserver/api/v1/users/")


def test_last_page_has_no_next(seven_users):
    _, data = _page({"page": 3, "page_size": 3})
    assert data["next"] is None
    assert data["results"] == [seven_users[6].pk]


def test_page_size_is_capped_at_the_maximum(seven_users):
    _, data = _page({"page_size": settings.API_MAX_PAGE_SIZE * 10})
    assert data["page_size"] == settings.API_MAX_PAGE_SIZE
    assert data["total_pages"] == 1
    assert len(data["results"]) == 7


def test_default_page_size_applies_without_a_query(seven_users):
    _, data = _page({})
    assert data["page_size"] == settings.API_PAGE_SIZE
    assert data["previous"] is None


def test_empty_list_has_one_page():
    _, data = _page({})
    assert data["count"] == 0
    assert data["total_pages"] == 1
    assert data["results"] == []


@pytest.mark.urls("kglab.tests.urls")
def test_page_past_the_end_is_a_404_in_the_error_shape(seven_users):
    response = Client().get("/test/users/", {"page": 99, "page_size": 3})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.urls("kglab.tests.urls")
def test_list_view_answers_with_the_metadata(seven_users):
    response = Client().get("/test/users/", {"page_size": 5})
    body = response.json()
    assert response.status_code == 200
    assert [body[key] for key in ("count", "page", "page_size", "total_pages")] == [7, 1, 5, 2]
    assert len(body["results"]) == 5
