"""Fixtures shared by every app's tests: users of each role and API clients that carry a
real JWT access token."""

import itertools

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import Role, User

_emails = itertools.count(1)
PASSWORD = "correct-horse-battery-9"


def make_user(role: str = Role.USER, **fields) -> User:
    email = fields.pop("email", None) or f"user{next(_emails)}-{role}@example.test"
    return User.objects.create_user(email=email, password=PASSWORD, role=role, **fields)


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        token = RefreshToken.for_user(user).access_token
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def user(db) -> User:
    return make_user(Role.USER)


@pytest.fixture
def other_user(db) -> User:
    return make_user(Role.USER)


@pytest.fixture
def moderator(db) -> User:
    return make_user(Role.MODERATOR)


@pytest.fixture
def admin_user(db) -> User:
    return make_user(Role.ADMIN)


@pytest.fixture
def anon_client() -> APIClient:
    return APIClient()


@pytest.fixture
def user_client(user) -> APIClient:
    return client_for(user)


@pytest.fixture
def other_client(other_user) -> APIClient:
    return client_for(other_user)


@pytest.fixture
def moderator_client(moderator) -> APIClient:
    return client_for(moderator)


@pytest.fixture
def admin_client_api(admin_user) -> APIClient:
    return client_for(admin_user)
