"""Fixtures shared by every app's tests: users of each role and API clients that carry a
real JWT access token."""

import itertools
import shutil
import subprocess
from urllib.parse import unquote, urlsplit

import pytest
from django.conf import settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import Role, User

_emails = itertools.count(1)
PASSWORD = "correct-horse-battery-9"


@pytest.fixture(scope="session", autouse=True)
def broker_vhost() -> str:
    """The RabbitMQ virtual host of this test run (see kglab/settings/test.py), created with
    rabbitmqctl when the broker runs on this machine, so `make test` needs no set-up."""
    url = urlsplit(settings.CELERY_BROKER_URL)
    vhost = unquote(url.path[1:])
    rabbitmqctl = shutil.which("rabbitmqctl")
    if rabbitmqctl and url.hostname in {"127.0.0.1", "localhost", "::1"}:

        def ctl(*args: str, check: bool = True) -> str:
            # Fixed executable and arguments from our own settings: no untrusted input.
            done = subprocess.run([rabbitmqctl, "-q", *args], capture_output=True, text=True, check=check)  # noqa: S603
            return done.stdout

        if vhost not in ctl("list_vhosts", "name").split():
            ctl("add_vhost", vhost, check=False)  # a parallel worker may create it first
        ctl("set_permissions", "-p", vhost, url.username or "guest", ".*", ".*", ".*")
    return vhost


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
