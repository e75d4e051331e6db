"""Every way a bearer token is refused gets its own 401 code, in the error shape, with an
RFC 6750 challenge."""

import base64
import json
import time

import jwt
import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accounts.tests.helpers import assert_error
from accounts.tokens import RefreshToken
from conftest import PASSWORD, client_for

pytestmark = pytest.mark.django_db

ME = "/api/v1/auth/me/"


def _get_me(token: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.get(ME)


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _access_payload(user) -> dict:
    return jwt.decode(str(RefreshToken.for_user(user).access_token), options={"verify_signature": False})


def _refused(response, code: str) -> None:
    assert_error(response, 401, code)
    assert response["WWW-Authenticate"] == (
        f'Bearer realm="api", error="invalid_token", error_description="{code}"'
    )


def test_valid_token_is_accepted_and_carries_the_role(user):
    access = RefreshToken.for_user(user).access_token
    response = _get_me(str(access))
    assert response.status_code == 200
    assert response.json()["email"] == user.email
    assert access["role"] == "user"
    assert access["token_type"] == "access"


def test_no_token_is_401_not_authenticated_with_challenge(anon_client):
    response = anon_client.get(ME)
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_expired_token(user):
    payload = {**_access_payload(user), "exp": int(time.time()) - 60}
    token = jwt.encode(payload, settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256")
    _refused(_get_me(token), "token_expired")


def test_bad_signature(user):
    token = jwt.encode(
        _access_payload(user), "another-key-of-sufficient-length-0123456789", algorithm="HS256"
    )
    _refused(_get_me(token), "token_invalid_signature")


def test_alg_none_is_unsupported_algorithm(user):
    token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_access_payload(user))}."
    _refused(_get_me(token), "token_unsupported_algorithm")


def test_other_hmac_algorithm_is_unsupported(user):
    token = jwt.encode(_access_payload(user), settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS384")
    _refused(_get_me(token), "token_unsupported_algorithm")


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda t: t.rsplit(".", 1)[0], id="signature-cut-off"),
        pytest.param(lambda t: t[:30], id="truncated-in-header"),
        pytest.param(lambda t: "not-a-jwt", id="garbage"),
        pytest.param(lambda t: "a.b.c", id="three-garbage-segments"),
        pytest.param(lambda t: t + " extra", id="three-header-parts"),
        pytest.param(lambda t: "", id="scheme-without-token"),
    ],
)
def test_malformed_tokens(user, mangle):
    token = str(RefreshToken.for_user(user).access_token)
    _refused(_get_me(mangle(token)), "token_malformed")


def test_token_without_required_claims_is_malformed(user):
    payload = _access_payload(user)
    del payload["jti"]
    token = jwt.encode(payload, settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256")
    _refused(_get_me(token), "token_malformed")


def test_refresh_token_is_not_an_access_token(user):
    _refused(_get_me(str(RefreshToken.for_user(user))), "token_wrong_type")


def test_deactivated_user(user):
    token = str(RefreshToken.for_user(user).access_token)
    user.is_active = False
    user.save()
    _refused(_get_me(token), "user_inactive")


def test_deleted_user(user):
    token = str(RefreshToken.for_user(user).access_token)
    user.delete()
    _refused(_get_me(token), "user_not_found")


def test_token_issued_before_password_change(user):
    token = str(RefreshToken.for_user(user).access_token)
    user.set_password(PASSWORD + "-new")
    user.save()
    _refused(_get_me(token), "token_revoked")


def test_logged_out_access_token(user):
    refresh = RefreshToken.for_user(user)
    access = str(refresh.access_token)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert client.post("/api/v1/auth/logout/", {"refresh": str(refresh)}).status_code == 204
    _refused(_get_me(access), "token_revoked")


def test_fixture_clients_authenticate(user_client, admin_client_api):
    """Tokens minted the way the shared fixtures mint them keep working."""
    assert user_client.get(ME).status_code == 200
    assert admin_client_api.get("/api/v1/users/").status_code == 200


def test_other_authorization_schemes_are_ignored(user):
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")
    assert_error(client.get(ME), 401, "not_authenticated")
