"""Authentication of module tokens (OAuth2 client credentials, see
`integrations.services_modules.module_token_issue`) on top of the user JWT authentication.

A token with a `module` claim is accepted only while its module is active and its secret has
not been rotated; the request then carries `request.module` (the `Module`) and
`request.module_scopes`. With `X-Acting-User: <user id>` a module holding the `act_as_user`
scope runs the request as that (active) user; the log line carries both ids. User tokens pass
through unchanged, with `request.module = None`."""

from __future__ import annotations

import structlog
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.request import Request

from accounts.authentication import JWTAuthentication
from accounts.models import User
from integrations.models import ModuleScope
from integrations.selectors_modules import module_for_token
from integrations.services_modules import MODULE_CLAIM, SCOPE_CLAIM, SECRET_CLAIM, secret_fingerprint

logger = structlog.get_logger(__name__)

ACTING_USER_HEADER = "HTTP_X_ACTING_USER"


class ModuleRejected(exceptions.AuthenticationFailed):
    def __init__(self, code: str, message: str):
        super().__init__({"detail": message, "code": code})
        self.reason = code


def _refuse_acting(message: str, code: str = "acting_user_refused") -> exceptions.PermissionDenied:
    return exceptions.PermissionDenied({"detail": message, "code": code})


def _set(request: Request, name: str, value) -> None:
    # On the DRF request and on the Django request under it, so views, middleware and
    # permissions all see it.
    setattr(request, name, value)
    setattr(request._request, name, value)


class ModuleJWTAuthentication(JWTAuthentication):
    def authenticate(self, request: Request):
        _set(request, "module", None)
        _set(request, "module_scopes", frozenset())
        self.module = None
        try:
            result = super().authenticate(request)
        except ModuleRejected as exc:
            request.auth_failure_reason = exc.reason
            raise
        acting_header = request.META.get(ACTING_USER_HEADER)
        if result is None:
            return None
        user, token = result
        if self.module is None:
            if acting_header:
                raise _refuse_acting("Only module tokens can act for a user.")
            return result

        module = self.module
        scopes = frozenset(str(token.get(SCOPE_CLAIM, "")).split()) & frozenset(module.scopes)
        _set(request, "module", module)
        _set(request, "module_scopes", scopes)
        structlog.contextvars.bind_contextvars(module_id=module.pk)
        if not acting_header:
            return result
        return self._act_as(
            request, module=module, scopes=scopes, service_user=user, header=acting_header
        ), token

    def check_user(self, user, validated_token) -> None:
        """A module token is refused as soon as its module is deactivated or removed, or its
        secret rotated; then the user checks of every token apply."""
        module_id = validated_token.get(MODULE_CLAIM)
        if module_id is not None:
            module = module_for_token(module_id=module_id)
            if module is None or not module.is_active:
                raise ModuleRejected("module_inactive", "The module is deactivated or no longer registered.")
            if validated_token.get(SECRET_CLAIM) != secret_fingerprint(module):
                raise ModuleRejected("token_revoked", "The module's secret was rotated; request a new token.")
            self.module = module
        super().check_user(user, validated_token)

    def _act_as(self, request: Request, *, module, scopes, service_user, header: str) -> User:
        if ModuleScope.ACT_AS_USER not in scopes:
            raise _refuse_acting("Acting for a user needs the act_as_user scope.", code="insufficient_scope")
        try:
            acting = User.objects.filter(pk=int(header.strip()), is_active=True).first()
        except ValueError:
            acting = None
        if acting is None:
            raise _refuse_acting("X-Acting-User does not name an active user.")
        structlog.contextvars.bind_contextvars(acting_user_id=acting.pk, service_account_id=service_user.pk)
        logger.info(
            "module_acting_as_user",
            module_id=module.pk,
            service_account_id=service_user.pk,
            acting_user_id=acting.pk,
            method=request.method,
            path=request.path,
        )
        _set(request, "acting_user", acting)
        return acting


class ModuleJWTAuthenticationScheme(OpenApiAuthenticationExtension):
    """OpenAPI description of the default authentication (user or module bearer token)."""

    target_class = "integrations.authentication.ModuleJWTAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": (
                "Access token of a user (POST /api/v1/auth/token/) or of a module "
                "(POST /api/v1/auth/module-token/). A module with the act_as_user scope may add "
                "`X-Acting-User: <user id>`."
            ),
        }
