"""Reads: users (admin API, login, the user a token names) and the access-token deny-list."""

from django.core.cache import cache
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token

from accounts.models import User
from accounts.tokens import token_rejected

DENYLIST_KEY = "auth:denied-jti:{jti}"


def access_token_denylist_check(*, token: Token) -> None:
    """Refuses (401 `token_revoked`) an access token revoked at logout. One Redis GET."""
    if cache.get(DENYLIST_KEY.format(jti=token[api_settings.JTI_CLAIM])) is not None:
        raise token_rejected("token_revoked")


def user_list() -> QuerySet[User]:
    """All users, oldest first; the admin API filters and paginates it."""
    return User.objects.all().order_by("id")


def user_lock(*, pk: int) -> User:
    """The user row locked FOR UPDATE (call inside the transaction that writes it); 404 when
    it was deleted since the caller looked it up."""
    return get_object_or_404(User.objects.select_for_update(), pk=pk)


def user_get_by_email(*, email: str) -> User | None:
    """The user with this email, compared case-insensitively (an index lookup), or None."""
    try:
        return User.objects.get(email__iexact=email.strip())
    except User.DoesNotExist:
        return None


def token_user_get(*, token: Token) -> User:
    """The user a validated token names: one primary-key lookup."""
    user_id = token.get(api_settings.USER_ID_CLAIM)
    if user_id is None:
        raise token_rejected("token_malformed")
    try:
        return User.objects.get(**{api_settings.USER_ID_FIELD: user_id})
    except (User.DoesNotExist, ValueError, TypeError) as exc:
        raise token_rejected("user_not_found") from exc
