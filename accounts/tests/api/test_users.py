"""Admin-only user management: list and filters, retrieve, role change and deactivation that
take effect on the user's very next request."""

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from accounts.models import Role, User
from accounts.tests.helpers import assert_error
from conftest import PASSWORD, client_for, make_user

pytestmark = pytest.mark.django_db

USERS = "/api/v1/users/"


def detail(user) -> str:
    return f"{USERS}{user.pk}/"


# --- who may -----------------------------------------------------------------------------


@pytest.mark.parametrize("client_fixture", ["user_client", "moderator_client"])
def test_non_admins_get_403_everywhere(request, client_fixture, other_user):
    client = request.getfixturevalue(client_fixture)
    assert_error(client.get(USERS), 403, "permission_denied")
    assert_error(client.get(detail(other_user)), 403, "permission_denied")
    assert_error(client.patch(detail(other_user), {"role": "admin"}), 403, "permission_denied")
    assert_error(client.post(f"{detail(other_user)}deactivate/"), 403, "permission_denied")
    other_user.refresh_from_db()
    assert other_user.role == Role.USER
    assert other_user.is_active


def test_anonymous_gets_401(anon_client):
    assert_error(anon_client.get(USERS), 401, "not_authenticated")


# --- list, filters, retrieve ----------------------------------------------------------------


def test_admin_lists_users_with_pagination(admin_client_api, admin_user):
    for _ in range(3):
        make_user()
    body = admin_client_api.get(USERS, {"page_size": 2}).json()
    assert body["count"] == 4
    assert body["total_pages"] == 2
    assert len(body["results"]) == 2
    assert body["results"][0]["id"] == admin_user.id
    assert body["next"]


def test_admin_filters_by_role_active_and_search(admin_client_api, admin_user):
    moderator = make_user(Role.MODERATOR, name="Grace Hopper")
    inactive = make_user(is_active=False)
    make_user(email="someone@elsewhere.test")

    def ids(**params):
        return [row["id"] for row in admin_client_api.get(USERS, params).json()["results"]]

    assert ids(role="moderator") == [moderator.id]
    assert ids(is_active="false") == [inactive.id]
    assert ids(search="HOPPER") == [moderator.id]
    assert len(ids(search="elsewhere")) == 1
    assert ids(email=moderator.email.upper()) == [moderator.id]


def test_invalid_role_filter_is_400(admin_client_api):
    assert_error(admin_client_api.get(USERS, {"role": "king"}), 400, "validation_error")


def test_admin_retrieves_a_user(admin_client_api, user):
    body = admin_client_api.get(detail(user)).json()
    assert body["email"] == user.email
    assert "password" not in body


def test_user_detail_carries_an_etag_and_honours_if_match(admin_client_api, user):
    etag = admin_client_api.get(detail(user))["ETag"]
    assert admin_client_api.get(detail(user), HTTP_IF_NONE_MATCH=etag).status_code == 304
    promoted = admin_client_api.patch(detail(user), {"role": "moderator"}, HTTP_IF_MATCH=etag)
    assert promoted.status_code == 200
    assert promoted["ETag"] != etag

    # A second admin working from the old read is told the user changed, and changes nothing.
    assert_error(
        admin_client_api.patch(detail(user), {"role": "admin"}, HTTP_IF_MATCH=etag),
        412,
        "precondition_failed",
    )
    assert_error(
        admin_client_api.post(f"{detail(user)}deactivate/", HTTP_IF_MATCH=etag), 412, "precondition_failed"
    )
    user.refresh_from_db()
    assert user.role == Role.MODERATOR
    assert user.is_active


def test_unknown_user_is_404(admin_client_api):
    assert_error(admin_client_api.get(f"{USERS}999999/"), 404, "not_found")


def test_creating_or_replacing_users_is_not_offered(admin_client_api, user):
    assert_error(admin_client_api.post(USERS, {"email": "a@b.test"}), 405, "method_not_allowed")
    assert_error(admin_client_api.put(detail(user), {"role": "admin"}), 405, "method_not_allowed")


# --- role changes ---------------------------------------------------------------------------


def test_role_change_takes_effect_on_the_next_request(admin_client_api, user, user_client):
    assert_error(user_client.get(USERS), 403, "permission_denied")
    response = admin_client_api.patch(detail(user), {"role": "admin"})
    assert response.status_code == 200, response.content
    assert response.json()["role"] == "admin"
    # Same token as before: authorization reads the role from the database.
    assert user_client.get(USERS).status_code == 200

    admin_client_api.patch(detail(user), {"role": "user"})
    assert_error(user_client.get(USERS), 403, "permission_denied")


def test_invalid_role_is_400(admin_client_api, user):
    assert_error(admin_client_api.patch(detail(user), {"role": "king"}), 400, "validation_error")
    user.refresh_from_db()
    assert user.role == Role.USER


def test_email_cannot_be_changed_by_the_admin_endpoint(admin_client_api, user):
    error = assert_error(
        admin_client_api.patch(detail(user), {"email": "x@example.test"}), 400, "validation_error"
    )
    assert "email" in error["details"]["fields"]


def test_the_last_admin_cannot_demote_or_deactivate_themselves(admin_client_api, admin_user):
    assert_error(admin_client_api.patch(detail(admin_user), {"role": "user"}), 409, "last_admin")
    assert_error(admin_client_api.post(f"{detail(admin_user)}deactivate/"), 409, "last_admin")
    admin_user.refresh_from_db()
    assert admin_user.is_admin
    assert admin_user.is_active


def test_an_admin_can_be_demoted_while_another_remains(admin_client_api, admin_user):
    second = make_user(Role.ADMIN)
    assert admin_client_api.patch(detail(second), {"role": "moderator"}).json()["role"] == "moderator"


# --- deactivation ---------------------------------------------------------------------------


def _login(user) -> dict:
    response = APIClient().post("/api/v1/auth/token/", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 200
    return response.json()


@pytest.mark.parametrize(
    "deactivate",
    [
        pytest.param(lambda client, user: client.post(f"{detail(user)}deactivate/"), id="action"),
        pytest.param(lambda client, user: client.patch(detail(user), {"is_active": False}), id="patch"),
    ],
)
def test_deactivation_stops_tokens_at_once(admin_client_api, user, deactivate):
    pair = _login(user)
    session = client_for(None)
    session.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    assert session.get("/api/v1/auth/me/").status_code == 200

    response = deactivate(admin_client_api, user)
    assert response.status_code == 200, response.content
    assert response.json()["is_active"] is False

    assert_error(session.get("/api/v1/auth/me/"), 401, "user_inactive")
    refresh = APIClient().post("/api/v1/auth/token/refresh/", {"refresh": pair["refresh"]})
    assert_error(refresh, 401, "user_inactive")
    assert_error(
        APIClient().post("/api/v1/auth/token/", {"email": user.email, "password": PASSWORD}),
        401,
        "user_inactive",
    )
    assert BlacklistedToken.objects.filter(token__user=user).exists()


def test_reactivation_lets_the_user_log_in_again_but_old_sessions_stay_dead(admin_client_api, user):
    before = _login(user)
    admin_client_api.post(f"{detail(user)}deactivate/")
    assert admin_client_api.patch(detail(user), {"is_active": True}).json()["is_active"] is True
    assert User.objects.get(pk=user.pk).is_active
    after = _login(user)
    refresh = APIClient().post("/api/v1/auth/token/refresh/", {"refresh": before["refresh"]})
    assert_error(refresh, 401, "token_revoked")
    assert APIClient().post("/api/v1/auth/token/refresh/", {"refresh": after["refresh"]}).status_code == 200
