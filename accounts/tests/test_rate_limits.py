"""Login limits per IP and per account, the registration throttle and DRF's user throttle:
429 in the error shape with Retry-After, counted in the real Redis cache."""

import pytest
from rest_framework.test import APIClient

from accounts.tests.helpers import assert_error
from conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db

LOGIN = "/api/v1/auth/token/"
REGISTER = "/api/v1/auth/register/"


def login_from(ip: str, email: str, password: str = PASSWORD):
    return APIClient(REMOTE_ADDR=ip).post(LOGIN, {"email": email, "password": password})


# Login limits use fixed windows; the tests use hour-long ones so that a window ending in the
# middle of a test (and resetting its count) is practically impossible.
def assert_rate_limited(response, code: str, window_s: int = 60) -> None:
    error = assert_error(response, 429, code)
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= window_s
    assert error["message"]


def test_login_flood_from_one_ip_is_429(settings):
    settings.LOGIN_RATE_PER_IP = "3/h"
    users = [make_user() for _ in range(4)]
    for user in users[:3]:
        assert login_from("203.0.113.7", user.email).status_code == 200
    # Even correct credentials are refused once the IP is over its limit.
    assert_rate_limited(login_from("203.0.113.7", users[3].email), "rate_limited", window_s=3600)
    assert login_from("203.0.113.8", users[3].email).status_code == 200


def test_login_flood_on_one_account_is_429_from_any_ip(settings, user):
    settings.LOGIN_RATE_PER_ACCOUNT = "2/h"
    for ip in ("198.51.100.1", "198.51.100.2"):
        assert_error(login_from(ip, user.email, "wrong-guess-123"), 401, "invalid_credentials")
    assert_rate_limited(login_from("198.51.100.3", user.email.upper()), "rate_limited", window_s=3600)
    other = make_user()
    assert login_from("198.51.100.3", other.email).status_code == 200


def test_malformed_login_bodies_count_against_the_ip(settings):
    settings.LOGIN_RATE_PER_IP = "2/h"
    client = APIClient(REMOTE_ADDR="192.0.2.9")
    for _ in range(2):
        assert_error(client.post(LOGIN, {}), 400, "validation_error")
    assert_rate_limited(client.post(LOGIN, {}), "rate_limited", window_s=3600)


def test_register_is_throttled_per_ip(settings):
    settings.REGISTER_RATE = "2/m"
    client = APIClient(REMOTE_ADDR="192.0.2.44")
    for n in range(2):
        body = {"email": f"reg{n}@example.test", "password": "a-long-passphrase-77"}
        assert client.post(REGISTER, body).status_code == 201
    response = client.post(REGISTER, {"email": "reg9@example.test", "password": "a-long-passphrase-77"})
    assert_rate_limited(response, "rate_limited")
    assert (
        APIClient(REMOTE_ADDR="192.0.2.45")
        .post(REGISTER, {"email": "reg9@example.test", "password": "a-long-passphrase-77"})
        .status_code
        == 201
    )


def test_user_throttle_applies_to_authenticated_requests(settings, user_client, other_client):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "100/min", "user": "2/min"},
    }
    for _ in range(2):
        assert user_client.get("/api/v1/auth/me/").status_code == 200
    assert_rate_limited(user_client.get("/api/v1/auth/me/"), "rate_limited")
    # The count is per user: another user from the same address is not limited.
    assert other_client.get("/api/v1/auth/me/").status_code == 200


def test_anon_throttle_counts_anonymous_requests_per_address(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "2/min", "user": "100/min"},
    }
    verify = "/api/v1/auth/token/verify/"
    client = APIClient(REMOTE_ADDR="192.0.2.61")
    for _ in range(2):
        assert client.post(verify, {"token": "garbage"}).status_code == 401
    assert_rate_limited(client.post(verify, {"token": "garbage"}), "rate_limited")
    assert APIClient(REMOTE_ADDR="192.0.2.62").post(verify, {"token": "garbage"}).status_code == 401


def test_redis_down_is_503_not_a_free_pass(settings, user_client):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }
    assert_error(user_client.get("/api/v1/auth/me/"), 503, "cache_unavailable")
