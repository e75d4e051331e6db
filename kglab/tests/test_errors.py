"""The one error shape on every failure path a client can reach."""

import pytest
from django.test import Client, override_settings
from rest_framework.test import APIClient

pytestmark = pytest.mark.urls("kglab.tests.urls")


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "details", "request_id"}
    assert error["code"] == code
    assert error["message"]
    assert error["request_id"] == response["X-Request-ID"]
    return error


@pytest.mark.parametrize("url", ["/definitely/not/here/", "/api/v1/definitely-not-here/"])
def test_unknown_url_is_a_json_404(url):
    response = Client().get(url, HTTP_ACCEPT="text/html")
    error = _error(response, 404, "not_found")
    assert url in error["message"]


@pytest.mark.parametrize(("method", "url"), [("delete", "/api/schema/"), ("put", "/health/ready/")])
def test_wrong_method_is_a_405(method, url):
    response = getattr(Client(), method)(url)
    _error(response, 405, "method_not_allowed")
    assert response["Allow"]


@override_settings(REQUEST_BODY_MAX_BYTES=1024)
def test_oversized_body_is_a_413_before_it_is_read():
    response = Client().post("/test/echo/", data="x" * 2048, content_type="application/json")
    error = _error(response, 413, "payload_too_large")
    assert error["details"] == {"limit_bytes": 1024, "received_bytes": 2048}


@override_settings(REQUEST_BODY_MAX_BYTES=1024)
def test_body_at_the_limit_is_accepted():
    payload = '{"a": "' + "x" * 1000 + '"}'
    response = Client().post("/test/echo/", data=payload, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["received"]["a"] == "x" * 1000


def test_malformed_json_is_a_400():
    response = Client().post("/test/echo/", data='{"name": ', content_type="application/json")
    error = _error(response, 400, "parse_error")
    assert "JSON" in error["message"]


@pytest.mark.parametrize("url", ["/test/boom/", "/test/plain-boom/"])
def test_unhandled_exception_is_a_500_without_a_stack_trace(url):
    response = Client(raise_request_exception=False).get(url, HTTP_X_REQUEST_ID="trace-me-42")
    error = _error(response, 500, "server_error")
    assert error["request_id"] == "trace-me-42"
    text = response.content.decode()
    assert "Traceback" not in text
    assert "secret internal detail" not in text
    assert "BoomError" not in text


@pytest.mark.parametrize("view", ["db", "plain-db"])
def test_database_down_is_a_503(unreachable_db_alias, django_db_blocker, view):
    # Outside a test transaction, so the view may open the alias whose port is closed.
    with django_db_blocker.unblock():
        response = Client().get(f"/test/{view}/{unreachable_db_alias}/")
    error = _error(response, 503, "database_unavailable")
    assert "database" in error["message"].lower()
    assert "Traceback" not in response.content.decode()


def test_incoming_request_id_is_kept_and_unsafe_ones_replaced():
    kept = Client().get("/health/live/", HTTP_X_REQUEST_ID="abc-123.def_4")
    assert kept["X-Request-ID"] == "abc-123.def_4"
    replaced = Client().get("/health/live/", HTTP_X_REQUEST_ID="bad id\nwith newline")
    assert replaced["X-Request-ID"] != "bad id\nwith newline"
    assert len(replaced["X-Request-ID"]) == 32


@pytest.mark.django_db
def test_unauthenticated_api_call_is_a_401_with_a_bearer_challenge():
    response = APIClient().get("/test/whoami/")
    _error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
def test_missing_csrf_token_is_a_403_in_the_error_shape(user):
    response = Client(enforce_csrf_checks=True).post(
        "/api-auth/login/", {"username": user.email, "password": "irrelevant"}
    )
    error = _error(response, 403, "csrf_failed")
    assert "CSRF" in error["message"]
