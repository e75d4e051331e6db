"""The auth flows end to end: register, login, refresh with rotation, verify, logout, me and
password change, each with its failures in the error shape."""

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import Role, User
from accounts.tests.helpers import assert_error
from accounts.tokens import AccessToken
from conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register/"
LOGIN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
VERIFY = "/api/v1/auth/token/verify/"
LOGOUT = "/api/v1/auth/logout/"
ME = "/api/v1/auth/me/"
PASSWORD_URL = "/api/v1/auth/password/"
NEW_PASSWORD = "another-long-passphrase-42"


def login(email: str, password: str = PASSWORD) -> dict:
    response = APIClient().post(LOGIN, {"email": email, "password": password})
    assert response.status_code == 200, response.content
    return response.json()


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


# --- register -------------------------------------------------------------------------------


def test_register_creates_a_user_with_the_user_role(anon_client):
    response = anon_client.post(
        REGISTER, {"email": "New.Person@Example.test", "password": NEW_PASSWORD, "name": "New"}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["email"] == "new.person@example.test"
    assert body["role"] == "user"
    assert "password" not in body
    user = User.objects.get(email="new.person@example.test")
    assert user.check_password(NEW_PASSWORD)
    login("new.person@example.test", NEW_PASSWORD)


def test_register_ignores_a_requested_role(anon_client):
    response = anon_client.post(
        REGISTER, {"email": "x@example.test", "password": NEW_PASSWORD, "role": "admin"}
    )
    assert response.status_code == 201
    assert User.objects.get(email="x@example.test").role == Role.USER


def test_register_duplicate_email_any_case_is_409(anon_client, user):
    response = anon_client.post(REGISTER, {"email": user.email.upper(), "password": NEW_PASSWORD})
    assert_error(response, 409, "email_taken")
    assert User.objects.filter(email__iexact=user.email).count() == 1


@pytest.mark.parametrize(
    ("password", "fragment"),
    [("short1", "too short"), ("password123", "too common"), ("4815162342108", "entirely numeric")],
)
def test_register_weak_password_is_400_and_creates_nothing(anon_client, password, fragment):
    response = anon_client.post(REGISTER, {"email": "weak@example.test", "password": password})
    error = assert_error(response, 400, "validation_error")
    assert any(fragment in message for message in error["details"]["fields"]["password"])
    assert not User.objects.filter(email="weak@example.test").exists()


def test_register_password_like_the_email_is_400(anon_client):
    response = anon_client.post(
        REGISTER, {"email": "jonathan.harker@example.test", "password": "jonathanharker"}
    )
    error = assert_error(response, 400, "validation_error")
    assert "password" in error["details"]["fields"]


def test_register_invalid_email_is_400(anon_client):
    error = assert_error(
        anon_client.post(REGISTER, {"email": "nope", "password": NEW_PASSWORD}), 400, "validation_error"
    )
    assert "email" in error["details"]["fields"]


# --- login ----------------------------------------------------------------------------------


def test_login_returns_a_pair_that_works(user):
    body = login(user.email.upper())
    assert body["token_type"] == "Bearer"
    assert body["user"]["id"] == user.id
    assert body["user"]["role"] == "user"
    assert body["user"]["version"] == 2
    access = AccessToken(body["access"])
    assert access["role"] == "user"
    assert int(access["user_id"]) == user.id
    assert body["access_expires_at"] < body["refresh_expires_at"]
    response = bearer(body["access"]).get(ME)
    assert response.status_code == 200
    assert response.json()["email"] == user.email
    user.refresh_from_db()
    assert user.last_login is not None
    assert user.version == 2


def test_login_wrong_password_is_401_invalid_credentials(anon_client, user):
    response = anon_client.post(LOGIN, {"email": user.email, "password": "wrong-password-1"})
    assert_error(response, 401, "invalid_credentials")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_login_unknown_email_is_the_same_401(anon_client):
    response = anon_client.post(LOGIN, {"email": "nobody@example.test", "password": PASSWORD})
    assert_error(response, 401, "invalid_credentials")


def test_inactive_user_cannot_log_in(anon_client):
    inactive = make_user(is_active=False)
    assert_error(
        anon_client.post(LOGIN, {"email": inactive.email, "password": PASSWORD}), 401, "user_inactive"
    )
    assert not OutstandingToken.objects.filter(user=inactive).exists()


def test_login_missing_fields_is_400(anon_client):
    error = assert_error(anon_client.post(LOGIN, {"email": "a@example.test"}), 400, "validation_error")
    assert "password" in error["details"]["fields"]


def test_login_with_a_body_that_is_not_json_is_400(anon_client):
    response = anon_client.post(LOGIN, data="{not json", content_type="application/json")
    assert_error(response, 400, "parse_error")


def test_login_ignores_a_broken_authorization_header(user):
    client = bearer("garbage")
    assert client.post(LOGIN, {"email": user.email, "password": PASSWORD}).status_code == 200


# --- refresh --------------------------------------------------------------------------------


def test_refresh_rotates_and_the_old_refresh_token_is_revoked(anon_client, user):
    first = login(user.email)
    response = anon_client.post(REFRESH, {"refresh": first["refresh"]})
    assert response.status_code == 200, response.content
    second = response.json()
    assert second["refresh"] != first["refresh"]
    assert second["access"] != first["access"]
    assert bearer(second["access"]).get(ME).status_code == 200

    reuse = anon_client.post(REFRESH, {"refresh": first["refresh"]})
    assert_error(reuse, 401, "token_revoked")
    # The rotated-in token still works, once.
    assert anon_client.post(REFRESH, {"refresh": second["refresh"]}).status_code == 200
    assert BlacklistedToken.objects.filter(token__user=user).count() == 2


def test_refresh_carries_the_current_role(anon_client, user):
    first = login(user.email)
    User.objects.filter(pk=user.pk).update(role=Role.MODERATOR)
    second = anon_client.post(REFRESH, {"refresh": first["refresh"]}).json()
    assert AccessToken(second["access"])["role"] == "moderator"


def test_refresh_with_an_access_token_is_wrong_type(anon_client, user):
    pair = login(user.email)
    assert_error(anon_client.post(REFRESH, {"refresh": pair["access"]}), 401, "token_wrong_type")


def test_refresh_with_garbage_is_malformed(anon_client):
    assert_error(anon_client.post(REFRESH, {"refresh": "garbage"}), 401, "token_malformed")


def test_refresh_of_a_deactivated_user_is_refused(anon_client, user):
    pair = login(user.email)
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert_error(anon_client.post(REFRESH, {"refresh": pair["refresh"]}), 401, "user_inactive")


def test_refresh_without_token_is_400(anon_client):
    assert_error(anon_client.post(REFRESH, {}), 400, "validation_error")


# --- verify ---------------------------------------------------------------------------------


def test_verify_accepts_live_tokens_of_both_types(anon_client, user):
    pair = login(user.email)
    access = anon_client.post(VERIFY, {"token": pair["access"]})
    refresh = anon_client.post(VERIFY, {"token": pair["refresh"]})
    assert access.status_code == refresh.status_code == 200
    assert access.json()["token_type"] == "access"
    assert refresh.json()["token_type"] == "refresh"
    assert int(access.json()["user_id"]) == user.id


def test_verify_refuses_revoked_tokens(user):
    pair = login(user.email)
    assert bearer(pair["access"]).post(LOGOUT, {"refresh": pair["refresh"]}).status_code == 204
    client = APIClient()
    assert_error(client.post(VERIFY, {"token": pair["access"]}), 401, "token_revoked")
    assert_error(client.post(VERIFY, {"token": pair["refresh"]}), 401, "token_revoked")


def test_verify_garbage_is_malformed(anon_client):
    assert_error(anon_client.post(VERIFY, {"token": "x.y"}), 401, "token_malformed")


# --- logout ---------------------------------------------------------------------------------


def test_logout_revokes_refresh_and_access_at_once(anon_client, user):
    pair = login(user.email)
    client = bearer(pair["access"])
    assert client.post(LOGOUT, {"refresh": pair["refresh"]}).status_code == 204
    assert_error(client.get(ME), 401, "token_revoked")
    assert_error(anon_client.post(REFRESH, {"refresh": pair["refresh"]}), 401, "token_revoked")


def test_logout_leaves_other_sessions_alone(user):
    one, two = login(user.email), login(user.email)
    assert bearer(one["access"]).post(LOGOUT, {"refresh": one["refresh"]}).status_code == 204
    assert bearer(two["access"]).get(ME).status_code == 200
    assert APIClient().post(REFRESH, {"refresh": two["refresh"]}).status_code == 200


def test_logout_with_someone_elses_refresh_token_is_400(user, other_user):
    mine, theirs = login(user.email), login(other_user.email)
    response = bearer(mine["access"]).post(LOGOUT, {"refresh": theirs["refresh"]})
    assert_error(response, 400, "validation_error")
    assert APIClient().post(REFRESH, {"refresh": theirs["refresh"]}).status_code == 200
    assert bearer(mine["access"]).get(ME).status_code == 200


def test_logout_with_an_access_token_as_refresh_is_400(user):
    pair = login(user.email)
    response = bearer(pair["access"]).post(LOGOUT, {"refresh": pair["access"]})
    error = assert_error(response, 400, "validation_error")
    assert "refresh" in error["details"]["fields"]


def test_logout_requires_authentication(anon_client, user):
    pair = login(user.email)
    assert_error(anon_client.post(LOGOUT, {"refresh": pair["refresh"]}), 401, "not_authenticated")


# --- me -------------------------------------------------------------------------------------


def test_me_returns_the_account(user_client, user):
    response = user_client.get(ME)
    assert response["ETag"] == f'"{user.pk}-1"'
    body = response.json()
    assert body == {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": "user",
        "is_active": True,
        "date_joined": body["date_joined"],
        "last_login": None,
        "updated_at": body["updated_at"],
        "version": 1,
    }


def test_me_patch_changes_name_and_email(user_client, user):
    response = user_client.patch(ME, {"name": " Ada ", "email": "ADA@example.test"})
    assert response.status_code == 200, response.content
    user.refresh_from_db()
    assert (user.name, user.email) == ("Ada", "ada@example.test")
    login("ada@example.test")


def test_me_etag_and_conditional_requests(user_client, user):
    etag = user_client.get(ME)["ETag"]
    assert user_client.get(ME, HTTP_IF_NONE_MATCH=etag).status_code == 304

    changed = user_client.patch(ME, {"name": "First"}, HTTP_IF_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert changed.json()["version"] == 2

    stale = user_client.patch(ME, {"name": "Second"}, HTTP_IF_MATCH=etag)
    error = assert_error(stale, 412, "precondition_failed")
    assert error["details"]["current_etag"] == changed["ETag"]
    user.refresh_from_db()
    assert user.name == "First"


def test_me_patch_role_is_refused(user_client, user):
    error = assert_error(user_client.patch(ME, {"role": "admin"}), 400, "validation_error")
    assert "role" in error["details"]["fields"]
    user.refresh_from_db()
    assert user.role == Role.USER


def test_me_patch_taken_email_is_409(user_client, user, other_user):
    assert_error(user_client.patch(ME, {"email": other_user.email.upper()}), 409, "email_taken")
    user.refresh_from_db()
    assert user.email != other_user.email


def test_me_patch_invalid_email_is_400(user_client):
    assert_error(user_client.patch(ME, {"email": "not-an-email"}), 400, "validation_error")


def test_me_requires_authentication(anon_client):
    assert_error(anon_client.get(ME), 401, "not_authenticated")


# --- password change ------------------------------------------------------------------------


def test_password_change_revokes_earlier_tokens_and_returns_a_new_pair(user):
    old, other_session = login(user.email), login(user.email)
    response = bearer(old["access"]).post(
        PASSWORD_URL, {"old_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 200, response.content
    fresh = response.json()

    assert bearer(fresh["access"]).get(ME).status_code == 200
    for session in (old, other_session):
        assert_error(bearer(session["access"]).get(ME), 401, "token_revoked")
        assert_error(APIClient().post(REFRESH, {"refresh": session["refresh"]}), 401, "token_revoked")
    assert APIClient().post(REFRESH, {"refresh": fresh["refresh"]}).status_code == 200
    login(user.email, NEW_PASSWORD)
    assert_error(
        APIClient().post(LOGIN, {"email": user.email, "password": PASSWORD}), 401, "invalid_credentials"
    )


def test_password_change_with_wrong_old_password_is_400(user):
    pair = login(user.email)
    response = bearer(pair["access"]).post(
        PASSWORD_URL, {"old_password": "nope-nope-nope", "new_password": NEW_PASSWORD}
    )
    error = assert_error(response, 400, "validation_error")
    assert "old_password" in error["details"]["fields"]
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert bearer(pair["access"]).get(ME).status_code == 200


def test_password_change_to_a_weak_password_is_400(user):
    pair = login(user.email)
    response = bearer(pair["access"]).post(PASSWORD_URL, {"old_password": PASSWORD, "new_password": "12345"})
    error = assert_error(response, 400, "validation_error")
    assert "new_password" in error["details"]["fields"]
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
