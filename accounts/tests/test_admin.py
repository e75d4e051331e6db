"""Django admin for users: admins manage users; moderators and users cannot."""

import pytest
from django.test import Client
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import Role, User
from accounts.tokens import RefreshToken
from conftest import make_user

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/accounts/user/"


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_admin_lists_filters_and_searches_users(admin_user):
    target = make_user(Role.MODERATOR, name="Findable Person")
    client = browser(admin_user)
    assert client.get(CHANGELIST).status_code == 200
    response = client.get(CHANGELIST, {"role__exact": "moderator", "is_active__exact": "1", "q": "findable"})
    assert response.status_code == 200
    assert list(response.context["cl"].queryset) == [target]


def test_moderator_cannot_see_or_manage_users(moderator, user):
    client = browser(moderator)
    assert client.get("/admin/").status_code == 200
    assert b"/admin/accounts/" not in client.get("/admin/").content
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(f"{CHANGELIST}{user.pk}/change/").status_code == 403
    response = client.post(f"{CHANGELIST}{user.pk}/change/", {"email": user.email, "role": "admin"})
    assert response.status_code == 403
    user.refresh_from_db()
    assert user.role == Role.USER


def test_plain_user_is_sent_to_the_login_page(user):
    response = browser(user).get(CHANGELIST)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def _change(client, user, **fields):
    data = {
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "is_active": "on" if user.is_active else "",
    }
    data.update(fields)
    return client.post(f"{CHANGELIST}{user.pk}/change/", {k: v for k, v in data.items() if v != ""})


def test_admin_deactivation_revokes_refresh_tokens(admin_user, user):
    RefreshToken.for_user(user)
    response = _change(browser(admin_user), user, is_active="")
    assert response.status_code == 302, response.content
    user.refresh_from_db()
    assert not user.is_active
    assert user.version == 2
    assert (
        BlacklistedToken.objects.filter(token__user=user).count()
        == OutstandingToken.objects.filter(user=user).count()
    )


def test_admin_cannot_demote_the_last_admin(admin_user):
    response = _change(browser(admin_user), admin_user, role="user")
    assert response.status_code == 200
    assert b"last active admin" in response.content
    assert User.objects.get(pk=admin_user.pk).role == Role.ADMIN


def test_admin_creates_a_user_with_a_password(admin_user):
    response = browser(admin_user).post(
        f"{CHANGELIST}add/",
        {
            "email": "created@example.test",
            "name": "Created",
            "role": "moderator",
            "usable_password": "true",
            "password1": "a-long-passphrase-77",
            "password2": "a-long-passphrase-77",
        },
    )
    assert response.status_code == 302, response.content
    created = User.objects.get(email="created@example.test")
    assert created.role == Role.MODERATOR
    assert created.check_password("a-long-passphrase-77")
