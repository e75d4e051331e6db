"""Writes: registration, login, token rotation and revocation, profile and password changes,
and the admin's role and activation changes.

Revocation has three parts, each as cheap as the request path allows:
- refresh tokens are single use: rotation, logout, password change and deactivation put them
  in simplejwt's blacklist table (checked only when a refresh token is presented);
- access tokens presented at logout go to a Redis deny-list keyed by `jti` that expires with
  the token, so the check on every request is one GET;
- every token carries a digest of the stored password hash, so a password change revokes every
  token issued before it with no list at all; deactivation is checked on the user row itself.
"""

from __future__ import annotations

import time

import jwt
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from rest_framework import exceptions
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import Token

from accounts.models import Role, User
from accounts.selectors import DENYLIST_KEY, access_token_denylist_check, token_user_get, user_get_by_email
from accounts.tokens import (
    AccessToken,
    PresentedRefreshToken,
    RefreshToken,
    TokenPair,
    TokenRejected,
    token_pair_for,
    token_rejected,
    token_user_check,
    token_validate,
)
from kglab.api.exceptions import Conflict


def _email_normalize(email: str) -> str:
    return email.strip().lower()


def _email_taken() -> Conflict:
    return Conflict("An account with this email already exists.", code="email_taken")


def _password_validate(*, password: str, user: User, field: str) -> None:
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise DjangoValidationError({field: exc.messages}) from exc


@transaction.atomic
def user_register(*, email: str, password: str, name: str = "") -> User:
    """Creates an account with the `user` role. The password must pass Django's password
    validators; an email already in use (in any letter case) is a 409 `email_taken`."""
    email = _email_normalize(email)
    if User.objects.filter(email__iexact=email).exists():
        raise _email_taken()
    user = User(email=email, name=name.strip(), role=Role.USER)
    _password_validate(password=password, user=user, field="password")
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:  # a concurrent registration of the same email won the race
        raise _email_taken() from exc
    return user


def user_login(*, email: str, password: str) -> tuple[User, TokenPair]:
    """Checks email and password and issues a token pair. Wrong email or password is the same
    401 `invalid_credentials`; a deactivated account is 401 `user_inactive`."""
    user = user_get_by_email(email=email)
    if user is None:
        # Hash anyway so the response time does not tell which emails have accounts.
        User().set_password(password)
        raise exceptions.AuthenticationFailed("Email or password is incorrect.", code="invalid_credentials")
    if not user.check_password(password):
        raise exceptions.AuthenticationFailed("Email or password is incorrect.", code="invalid_credentials")
    if not user.is_active:
        raise exceptions.AuthenticationFailed("The account is deactivated.", code="user_inactive")
    # The password check stays outside: no transaction is held open during the hashing.
    with transaction.atomic():
        user.last_login = timezone.now()
        # last_login is part of the representation, so the version (and ETag) moves with it.
        User.objects.filter(pk=user.pk).update(last_login=user.last_login, version=F("version") + 1)
        user.version += 1
        pair = token_pair_for(user)
    return user, pair


@transaction.atomic
def token_refresh(*, refresh: str) -> TokenPair:
    """Exchanges a refresh token for a new pair and blacklists it: a refresh token works once.
    Presenting it again is a 401 `token_revoked`."""
    token = token_validate(refresh, token_class=PresentedRefreshToken)
    user = token_user_get(token=token)
    token_user_check(user=user, token=token)
    if not _refresh_token_claim(jti=token[api_settings.JTI_CLAIM]):
        raise token_rejected("token_revoked")
    return token_pair_for(user)


_CLAIM_SQL = """
    INSERT INTO {blacklisted} (token_id, blacklisted_at)
    SELECT id, now() FROM {outstanding} WHERE jti = %s
    ON CONFLICT (token_id) DO NOTHING
    RETURNING id
"""


def _refresh_token_claim(*, jti: str) -> bool:
    """Blacklists the outstanding refresh token `jti` in one statement; True only for the one
    caller whose insert wins. The unique blacklist row is the claim: of two concurrent
    refreshes with the same token exactly one succeeds. A token that was never recorded as
    outstanding (not issued here) is not claimable either."""
    sql = _CLAIM_SQL.format(
        blacklisted=connection.ops.quote_name(BlacklistedToken._meta.db_table),
        outstanding=connection.ops.quote_name(OutstandingToken._meta.db_table),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [jti])
        return cursor.fetchone() is not None


def token_verify(*, token: str) -> Token:
    """Checks an access or refresh token as the API would accept it (signature, expiry,
    type, revocation, user active) and returns it."""
    token_class = RefreshToken if _claimed_type(token) == RefreshToken.token_type else AccessToken
    validated = token_validate(token, token_class=token_class)
    if token_class is AccessToken:
        access_token_denylist_check(token=validated)
    token_user_check(user=token_user_get(token=validated), token=validated)
    return validated


def _claimed_type(raw: str) -> str | None:
    """The unverified `token_type` claim; only picks which class verifies the token."""
    try:
        return jwt.decode(raw, options={"verify_signature": False}).get(api_settings.TOKEN_TYPE_CLAIM)
    except jwt.InvalidTokenError:  # unreadable: token_validate explains why
        return None


def access_token_revoke(*, token: Token) -> None:
    """Deny-lists an access token until it expires (Redis key with TTL = remaining life)."""
    remaining = int(token["exp"] - time.time())
    if remaining > 0:
        cache.set(DENYLIST_KEY.format(jti=token[api_settings.JTI_CLAIM]), 1, timeout=remaining + 1)


@transaction.atomic
def user_logout(*, user: User, access_token: Token, refresh: str) -> None:
    """Ends a session: blacklists its refresh token and deny-lists the access token presented
    with the request, both effective immediately. Logging out twice is not an error."""
    try:
        token = token_validate(refresh, token_class=RefreshToken)
    except TokenRejected as exc:
        if exc.reason not in {"token_expired", "token_revoked"}:
            message = str(exc.detail["detail"])
            raise exceptions.ValidationError({"refresh": [message]}, code=exc.reason) from exc
        token = None
    if token is not None:
        if str(token.get(api_settings.USER_ID_CLAIM)) != str(user.pk):
            raise exceptions.ValidationError({"refresh": ["The refresh token belongs to another account."]})
        token.blacklist()
    # Last, so a failure of the database above leaves the access token usable and the client
    # can simply retry.
    access_token_revoke(token=access_token)


def user_refresh_tokens_revoke(*, user: User) -> int:
    """Blacklists every unexpired refresh token of `user`; returns how many."""
    pending = OutstandingToken.objects.filter(
        user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
    )
    rows = [BlacklistedToken(token=outstanding) for outstanding in pending]
    BlacklistedToken.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


@transaction.atomic
def user_profile_update(*, user: User, email: str | None = None, name: str | None = None) -> User:
    """Changes the caller's own name and email. The role is not self-editable."""
    user.version += 1
    fields = ["updated_at", "version"]
    if email is not None:
        email = _email_normalize(email)
        if User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
            raise _email_taken()
        user.email = email
        fields.append("email")
    if name is not None:
        user.name = name.strip()
        fields.append("name")
    try:
        with transaction.atomic():
            user.save(update_fields=fields)
    except IntegrityError as exc:
        raise _email_taken() from exc
    return user


@transaction.atomic
def user_password_change(*, user: User, old_password: str, new_password: str) -> TokenPair:
    """Sets a new password after checking the old one. Every token issued before the change
    stops working (access and refresh); the returned pair is the caller's new session."""
    if not user.check_password(old_password):
        raise exceptions.ValidationError({"old_password": ["The current password is incorrect."]})
    _password_validate(password=new_password, user=user, field="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password", "updated_at"])
    user_refresh_tokens_revoke(user=user)
    return token_pair_for(user)


@transaction.atomic
def user_update(
    *, user: User, role: str | None = None, is_active: bool | None = None, name: str | None = None
) -> User:
    """Admin change of a user's role, activation or name; effective on the user's next request
    (authorization reads the role and `is_active` from the database every time). Deactivation
    also blacklists the user's refresh tokens. The last active admin cannot be demoted or
    deactivated (409 `last_admin`)."""
    user = User.objects.select_for_update().get(pk=user.pk)
    loses_admin = (
        user.is_admin and user.is_active and ((role is not None and role != Role.ADMIN) or is_active is False)
    )
    if loses_admin:
        active_admins = list(
            User.objects.select_for_update()
            .filter(role=Role.ADMIN, is_active=True)
            .values_list("pk", flat=True)
        )
        if active_admins == [user.pk]:
            raise Conflict("This is the last active admin; promote another admin first.", code="last_admin")
    user.version += 1
    fields = ["updated_at", "version"]
    deactivated = is_active is False and user.is_active
    for field, value in (("role", role), ("is_active", is_active), ("name", name)):
        if value is not None:
            setattr(user, field, value)
            fields.append(field)
    user.save(update_fields=fields)
    if deactivated:
        user_refresh_tokens_revoke(user=user)
    return user


def user_deactivate(*, user: User) -> User:
    """Deactivates an account: its tokens stop working at once and it cannot log in."""
    return user_update(user=user, is_active=False)
