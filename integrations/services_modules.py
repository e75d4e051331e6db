"""Writes of the module registry: registering a module (with its service account),
changing it, rotating its secret, issuing its access tokens and recording its heartbeats."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

import structlog
from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from rest_framework import exceptions

from accounts.models import Role, User
from accounts.tokens import AccessToken
from integrations.models import Module, ModuleStatus

logger = structlog.get_logger(__name__)

MODULE_CLAIM = "module"
SCOPE_CLAIM = "scope"
SECRET_CLAIM = "module_secret"


@dataclass(frozen=True)
class ModuleCredentials:
    module: Module
    client_secret: str


@dataclass(frozen=True)
class ModuleToken:
    access_token: str
    expires_in: int
    scope: str
    token_type: str = "Bearer"


class InvalidClient(exceptions.AuthenticationFailed):
    """OAuth2 `invalid_client`: unknown client, wrong secret or deactivated module."""

    def __init__(self):
        super().__init__({"detail": "Client authentication failed.", "code": "invalid_client"})


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


def secret_fingerprint(module: Module) -> str:
    """Short digest of the current secret hash, carried in tokens so rotating the secret also
    revokes the tokens issued with the old one."""
    return hashlib.sha256(module.client_secret_hash.encode()).hexdigest()[:16]


@transaction.atomic
def module_create(
    *, name: str, kind: str, scopes: list[str], description: str = "", is_active: bool = True
) -> ModuleCredentials:
    """Registers a module and creates its service account (a user with role `user` and no
    password). Returns the module and its client secret, which is not stored and never
    shown again."""
    client_secret = _new_secret()
    client_id = f"kgm_{secrets.token_hex(12)}"
    account = User.objects.create_user(
        email=f"module-{slugify(name)[:40] or 'module'}-{client_id[4:12]}@modules.kglab.invalid",
        password=None,
        role=Role.USER,
        name=f"Module {name}"[:150],
        is_active=is_active,
    )
    module = Module.objects.create(
        name=name,
        kind=kind,
        description=description,
        scopes=sorted(set(scopes)),
        is_active=is_active,
        client_id=client_id,
        client_secret_hash=make_password(client_secret),
        secret_rotated_at=timezone.now(),
        service_account=account,
    )
    logger.info("module_created", module_id=module.pk, module_name=name)
    return ModuleCredentials(module=module, client_secret=client_secret)


@transaction.atomic
def module_update(*, module: Module, data: dict) -> Module:
    """Changes name, kind, description, scopes or `is_active`. Deactivating a module refuses
    its tokens at once and deactivates its service account."""
    fields = []
    for field in ("name", "kind", "description", "scopes", "is_active"):
        if field in data:
            value = sorted(set(data[field])) if field == "scopes" else data[field]
            setattr(module, field, value)
            fields.append(field)
    if not fields:
        return module
    module.save(update_fields=[*fields, "updated_at"])
    if "is_active" in data and module.service_account.is_active != module.is_active:
        module.service_account.is_active = module.is_active
        module.service_account.save(update_fields=["is_active", "updated_at"])
    logger.info("module_updated", module_id=module.pk, fields=fields)
    return module


@transaction.atomic
def module_delete(*, module: Module) -> None:
    """Removes a module. Its service account is deactivated, not deleted: the data it wrote
    (owned by that account) stays."""
    account = module.service_account
    module.delete()
    account.is_active = False
    account.save(update_fields=["is_active", "updated_at"])
    logger.info("module_deleted", module_id=module.pk, service_account_id=account.pk)


def module_rotate_secret(*, module: Module) -> ModuleCredentials:
    """Replaces the module's client secret. The old secret stops working at once, and so do
    the tokens issued with it. Returns the new secret (shown once)."""
    client_secret = _new_secret()
    module.client_secret_hash = make_password(client_secret)
    module.secret_rotated_at = timezone.now()
    module.save(update_fields=["client_secret_hash", "secret_rotated_at", "updated_at"])
    logger.info("module_secret_rotated", module_id=module.pk)
    return ModuleCredentials(module=module, client_secret=client_secret)


def module_token_issue(*, client_id: str, client_secret: str) -> ModuleToken:
    """OAuth2 client-credentials grant: checks the credentials and returns an access token
    for the module's service account with the claims `module` (id) and `scope`
    (space-separated). No refresh token: the module asks again with its credentials."""
    module = Module.objects.select_related("service_account").filter(client_id=client_id).first()
    if module is None:
        # Same work as a wrong secret, so response times do not reveal which client ids exist.
        make_password(client_secret)
        raise InvalidClient()
    if not check_password(client_secret, module.client_secret_hash) or not module.is_active:
        raise InvalidClient()
    if not module.service_account.is_active:
        raise InvalidClient()
    lifetime = timedelta(minutes=settings.MODULE_TOKEN_LIFETIME_MINUTES)
    token = AccessToken.for_user(module.service_account)
    token.set_exp(lifetime=lifetime)
    scope = " ".join(module.scopes)
    token["role"] = module.service_account.role
    token[MODULE_CLAIM] = module.pk
    token[SCOPE_CLAIM] = scope
    token[SECRET_CLAIM] = secret_fingerprint(module)
    logger.info("module_token_issued", module_id=module.pk)
    return ModuleToken(access_token=str(token), expires_in=int(lifetime.total_seconds()), scope=scope)


def module_heartbeat(*, module: Module, status: str, details: dict, version: str) -> Module:
    """Records a heartbeat: when, what the module says about itself, and its version."""
    module.last_heartbeat_at = timezone.now()
    module.reported_status = status or ModuleStatus.HEALTHY
    module.heartbeat_details = details
    module.version = version
    module.save(
        update_fields=["last_heartbeat_at", "reported_status", "heartbeat_details", "version", "updated_at"]
    )
    return module
