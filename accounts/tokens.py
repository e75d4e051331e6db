"""JWT token classes and the one place that says why a token is refused.

Access tokens carry `user_id`, `role`, `jti`, `exp`, `iat`, `token_type` and
`hash_password` (simplejwt's CHECK_REVOKE_TOKEN claim: a digest of the user's stored password
hash, so every token issued before a password change stops matching). Refresh tokens carry the
same claims and are recorded in simplejwt's outstanding-token table so they can be blacklisted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import jwt
from rest_framework import exceptions
from rest_framework_simplejwt import tokens
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.utils import datetime_from_epoch, get_md5_hash_password


class TokenWrongTypeError(TokenError):
    """A token of another type (a refresh token where an access token is needed)."""


class TokenBlacklistedError(TokenError):
    """A refresh token that was rotated, logged out or revoked."""


class TokenRejected(exceptions.AuthenticationFailed):
    """401 in the error shape with a code that says why the token was refused."""

    def __init__(self, code: str, message: str):
        super().__init__({"detail": message, "code": code})
        self.reason = code


MESSAGES = {
    "token_expired": "The token has expired; refresh it or log in again.",
    "token_malformed": "The token is not a well-formed JWT issued by this service.",
    "token_invalid_signature": "The token's signature does not verify.",
    "token_unsupported_algorithm": "The token is signed with an algorithm this service does not accept.",
    "token_wrong_type": "This type of token cannot be used here (a refresh token is not an access token).",
    "token_revoked": "The token has been revoked (logout, rotation, password change or deactivation).",
    "user_inactive": "The account is deactivated.",
    "user_not_found": "The token's user does not exist.",
}


def token_rejected(code: str) -> TokenRejected:
    return TokenRejected(code, MESSAGES[code])


class _TypedErrorsMixin:
    """Raises a typed error on a type mismatch so the reason survives to the response."""

    def verify_token_type(self) -> None:
        try:
            super().verify_token_type()
        except TokenError as exc:
            raise TokenWrongTypeError(*exc.args) from exc


class AccessToken(_TypedErrorsMixin, tokens.AccessToken):
    """Bearer token for API requests (settings: SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"])."""


class RefreshToken(_TypedErrorsMixin, tokens.RefreshToken):
    """Single-use token that buys a new pair (rotation); blacklisted once used."""

    access_token_class = AccessToken

    def check_blacklist(self) -> None:
        try:
            super().check_blacklist()
        except TokenError as exc:
            raise TokenBlacklistedError(*exc.args) from exc

    @classmethod
    def for_user(cls, user) -> RefreshToken:
        token = super().for_user(user)
        token["role"] = user.role
        return token


class PresentedRefreshToken(RefreshToken):
    """A refresh token presented for rotation. Its blacklist row is claimed atomically by the
    rotation itself (`accounts.services.token_refresh`), which answers "already used?" in the
    same statement, so the separate blacklist read of simplejwt is skipped."""

    def check_blacklist(self) -> None:
        return None


def _reason_of(exc: TokenError) -> str:
    """Maps simplejwt's (chained) error to our error code."""
    if isinstance(exc, TokenWrongTypeError):
        return "token_wrong_type"
    if isinstance(exc, TokenBlacklistedError):
        return "token_revoked"
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, jwt.ExpiredSignatureError):
            return "token_expired"
        if isinstance(cause, jwt.InvalidAlgorithmError):
            return "token_unsupported_algorithm"
        if isinstance(cause, jwt.InvalidSignatureError):
            return "token_invalid_signature"
        if isinstance(cause, jwt.InvalidTokenError):
            return "token_malformed"
        cause = cause.__cause__
    # Decoded and signed correctly but missing a required claim (exp, jti, type).
    return "token_malformed"


def token_validate(raw: str | bytes, *, token_class: type[tokens.Token]) -> tokens.Token:
    """Decodes and verifies `raw` as a `token_class` token, or raises TokenRejected with the
    reason: expired, malformed, bad signature, unsupported algorithm, wrong type, revoked."""
    try:
        header = jwt.get_unverified_header(raw)
    except jwt.InvalidTokenError as exc:
        raise token_rejected("token_malformed") from exc
    if header.get("alg") != api_settings.ALGORITHM:
        # Checked before decoding so `alg: none` and friends get their own answer.
        raise token_rejected("token_unsupported_algorithm")
    try:
        return token_class(raw)
    except TokenError as exc:
        raise token_rejected(_reason_of(exc)) from exc


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str
    access_expires_at: datetime
    refresh_expires_at: datetime
    token_type: str = "Bearer"


def token_pair_for(user) -> TokenPair:
    """Mints a refresh token (recorded as outstanding) and its access token for `user`."""
    refresh = RefreshToken.for_user(user)
    access = refresh.access_token
    return TokenPair(
        access=str(access),
        refresh=str(refresh),
        access_expires_at=datetime_from_epoch(access["exp"]),
        refresh_expires_at=datetime_from_epoch(refresh["exp"]),
    )


def token_user_check(*, user, token: tokens.Token) -> None:
    """Refuses tokens of deactivated users and tokens issued before the user's last password
    change (their `hash_password` claim no longer matches the stored hash)."""
    if not user.is_active:
        raise token_rejected("user_inactive")
    if api_settings.CHECK_REVOKE_TOKEN and token.get(
        api_settings.REVOKE_TOKEN_CLAIM
    ) != get_md5_hash_password(user.password):
        raise token_rejected("token_revoked")
