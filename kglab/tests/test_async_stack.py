"""The same middleware in Django's async stack (as under ASGI): request ids, access log user,
static files, 413. Each test drives an AsyncClient from a sync test through async_to_sync."""

from pathlib import Path

import drf_spectacular_sidecar
import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient, override_settings
from rest_framework_simplejwt.tokens import RefreshToken

SIDECAR = Path(drf_spectacular_sidecar.__file__).parent / "static"
CSS = "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css"


def _get(path: str, method: str = "get", **kwargs):
    async def call():
        response = await getattr(AsyncClient(), method)(path, **kwargs)
        if response.streaming and response.is_async:
            response.body = b"".join([chunk async for chunk in response.streaming_content])
        elif response.streaming:
            # The test client empties HEAD responses with a plain iterator.
            response.body = b"".join(response.streaming_content)
        return response

    return async_to_sync(call)()


def test_static_file_is_streamed_by_the_async_stack():
    response = _get(f"/static/{CSS}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert response["X-Request-ID"]
    assert response.body == (SIDECAR / CSS).read_bytes()


def test_static_head_has_headers_and_no_body():
    response = _get(f"/static/{CSS}", method="head")
    assert response.status_code == 200
    assert int(response["Content-Length"]) == (SIDECAR / CSS).stat().st_size
    assert response.body == b""


def test_unknown_static_file_is_a_json_404():
    response = _get("/static/no/such/file.css")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@override_settings(REQUEST_BODY_MAX_BYTES=10)
def test_oversized_body_is_a_413_in_the_async_stack():
    response = _get("/health/live/", method="post", data="x" * 100, content_type="text/plain")
    assert response.status_code == 413
    assert response.json()["error"]["details"]["limit_bytes"] == 10


def test_live_under_asgi_keeps_the_request_id():
    response = _get("/health/live/", headers={"X-Request-ID": "asgi-1"})
    assert response.status_code == 200
    assert response["X-Request-ID"] == "asgi-1"


@pytest.mark.django_db
@pytest.mark.urls("kglab.tests.urls")
def test_access_line_names_the_jwt_user_under_asgi(user, access_lines):
    token = str(RefreshToken.for_user(user).access_token)
    response = _get("/test/whoami/", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json() == {"user_id": user.pk}
    [line] = access_lines()
    assert line["user_id"] == user.pk
    assert line["request_id"] == response["X-Request-ID"]


@pytest.mark.django_db
@pytest.mark.urls("kglab.tests.urls")
def test_access_line_resolves_an_untouched_session_user_under_asgi(user, client, access_lines):
    client.force_login(user)
    response = _get("/definitely/not/here/", headers={"Cookie": client.cookies.output(header="", sep=";")})
    assert response.status_code == 404
    [line] = access_lines()
    assert line["user_id"] == user.pk
