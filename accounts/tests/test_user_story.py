"""User story 3 (authentication with role-based access), its acceptance scenarios end to end
over HTTP: register, log in, use the token, let it expire, and reach admin endpoints as admin."""

import time

import jwt
import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accounts.models import Role, User
from accounts.tests.helpers import assert_error

pytestmark = pytest.mark.django_db

PASSWORD = "story-passphrase-2024"


def _register_and_login(email: str) -> dict:
    client = APIClient()
    assert client.post("/api/v1/auth/register/", {"email": email, "password": PASSWORD}).status_code == 201
    response = client.post("/api/v1/auth/token/", {"email": email, "password": PASSWORD})
    assert response.status_code == 200
    return response.json()


def _as(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def test_1_valid_credentials_give_access_and_refresh_tokens():
    pair = _register_and_login("story1@example.test")
    assert jwt.decode(pair["access"], options={"verify_signature": False})["token_type"] == "access"
    assert jwt.decode(pair["refresh"], options={"verify_signature": False})["token_type"] == "refresh"


def test_2_a_valid_access_token_is_accepted():
    pair = _register_and_login("story2@example.test")
    response = _as(pair["access"]).get("/api/v1/auth/me/")
    assert response.status_code == 200
    assert response.json()["email"] == "story2@example.test"


def test_3_an_expired_token_is_401():
    pair = _register_and_login("story3@example.test")
    claims = jwt.decode(pair["access"], options={"verify_signature": False})
    expired = jwt.encode(
        {**claims, "exp": int(time.time()) - 1}, settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256"
    )
    assert_error(_as(expired).get("/api/v1/auth/me/"), 401, "token_expired")


def test_4_an_admin_reaches_admin_endpoints_and_a_user_does_not():
    user_pair = _register_and_login("story4-user@example.test")
    admin_pair = _register_and_login("story4-admin@example.test")
    User.objects.filter(email="story4-admin@example.test").update(role=Role.ADMIN)

    assert_error(_as(user_pair["access"]).get("/api/v1/users/"), 403, "permission_denied")
    response = _as(admin_pair["access"]).get("/api/v1/users/")
    assert response.status_code == 200
    assert {row["email"] for row in response.json()["results"]} == {
        "story4-user@example.test",
        "story4-admin@example.test",
    }
