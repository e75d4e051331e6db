"""JWT authentication for the API.

Every refusal is a 401 in the error shape whose code says why (see `accounts.tokens.MESSAGES`)
and whose `WWW-Authenticate` header follows RFC 6750. A request costs one HMAC check, one
Redis GET (the access-token deny-list) and one primary-key lookup of the user.

Subclasses (service-account tokens, for instance) extend it at three points:
`get_validated_token` (which token classes are accepted), `get_user` (who the token names) and
`check_user` (the hook that sees the validated token and the user together, last).
"""

from rest_framework import HTTP_HEADER_ENCODING
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication as BaseJWTAuthentication
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token

from accounts.selectors import access_token_denylist_check, token_user_get
from accounts.tokens import TokenRejected, token_rejected, token_user_check, token_validate


class JWTAuthentication(BaseJWTAuthentication):
    def authenticate(self, request: Request):
        header = self.get_header(request)
        if header is None:
            return None
        try:
            raw_token = self.get_raw_token(header)
            if raw_token is None:
                return None
            validated_token = self.get_validated_token(raw_token)
            user = self.get_user(validated_token)
            self.check_user(user, validated_token)
        except TokenRejected as exc:
            # Read back by authenticate_header() for the WWW-Authenticate challenge.
            request.auth_failure_reason = exc.reason
            raise
        return user, validated_token

    def authenticate_header(self, request: Request) -> str:
        challenge = f'Bearer realm="{self.www_authenticate_realm}"'
        reason = getattr(request, "auth_failure_reason", None)
        if reason:
            challenge += f', error="invalid_token", error_description="{reason}"'
        return challenge

    def get_raw_token(self, header: bytes) -> bytes | None:
        parts = header.split()
        scheme = parts[0].decode(HTTP_HEADER_ENCODING, "replace") if parts else ""
        if scheme not in api_settings.AUTH_HEADER_TYPES:
            return None
        if len(parts) != 2:
            raise token_rejected("token_malformed")
        return parts[1]

    def get_validated_token(self, raw_token: bytes) -> Token:
        """Tries each of AUTH_TOKEN_CLASSES; refuses with the first class's reason."""
        first_error: TokenRejected | None = None
        for token_class in api_settings.AUTH_TOKEN_CLASSES:
            try:
                token = token_validate(raw_token, token_class=token_class)
            except TokenRejected as exc:
                first_error = first_error or exc
                continue
            access_token_denylist_check(token=token)
            return token
        raise first_error

    def get_user(self, validated_token: Token):
        return token_user_get(token=validated_token)

    def check_user(self, user, validated_token: Token) -> None:
        """Last hook: the validated token and its user are both known here. Refuses
        deactivated users and tokens issued before the user's password changed."""
        token_user_check(user=user, token=validated_token)
