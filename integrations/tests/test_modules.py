"""Module registry: registration, the client-credentials token flow, scopes, acting for a
user, heartbeats and secret rotation, through the real API and authentication."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import jwt
import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.views import APIView

from accounts.models import Role, User
from conftest import make_user
from integrations.models import Module
from integrations.permissions import HasModuleScope
from integrations.services_modules import module_create, module_update

pytestmark = pytest.mark.django_db

MODULES = "/api/v1/integrations/modules/"
TOKEN = "/api/v1/auth/module-token/"


@pytest.fixture(autouse=True)
def generous_ip_limit():
    with override_settings(MODULE_TOKEN_RATE_PER_IP="100000/m", MODULE_TOKEN_RATE_PER_CLIENT="100000/m"):
        yield


def register(scopes=(), name=None, kind="ai"):
    credentials = module_create(
        name=name or f"module-{Module.objects.count() + 1}", kind=kind, scopes=list(scopes)
    )
    return credentials.module, credentials.client_secret


def token_for(module: Module, secret: str) -> str:
    response = APIClient().post(
        TOKEN, {"client_id": module.client_id, "client_secret": secret}, format="json"
    )
    assert response.status_code == 200, response.json()
    return response.json()["access_token"]


def module_client(token: str, acting_user: int | str | None = None) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    if acting_user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_X_ACTING_USER=str(acting_user))
    return client


class ExtractionSubmitView(APIView):
    """Stands for any endpoint that needs a scope from modules."""

    permission_classes = [IsAuthenticated, HasModuleScope("extraction:write")]

    def post(self, request):
        module = getattr(request, "module", None)
        return Response({"user_id": request.user.pk, "module_id": module.pk if module else None})


def call_scoped_view(authorization: str, acting_user: str | None = None):
    headers = {"HTTP_AUTHORIZATION": authorization}
    if acting_user is not None:
        headers["HTTP_X_ACTING_USER"] = acting_user
    request = APIRequestFactory().post("/scoped/", {}, format="json", **headers)
    response = ExtractionSubmitView.as_view()(request)
    if hasattr(response, "render"):
        response.render()
    return response


def body(response) -> dict:
    return json.loads(response.content)


def error_code(response) -> str:
    return body(response)["error"]["code"]


# --- registration (admin API) -------------------------------------------------------------
def test_admin_registers_a_module_with_a_service_account_and_sees_the_secret_once(admin_client_api):
    response = admin_client_api.post(
        MODULES,
        {"name": "ai-worker", "kind": "ai", "scopes": ["extraction:write", "entities:read"]},
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert body["client_id"].startswith("kgm_")
    assert len(body["client_secret"]) >= 40
    assert body["scopes"] == ["entities:read", "extraction:write"]
    assert body["status"] == "offline"
    account = User.objects.get(pk=body["service_account_id"])
    assert account.role == Role.USER
    assert not account.has_usable_password()
    detail = admin_client_api.get(f"{MODULES}{body['id']}/").json()
    assert "client_secret" not in detail
    assert Module.objects.get(pk=body["id"]).client_secret_hash != body["client_secret"]


def test_registration_refuses_bad_input_and_duplicates(admin_client_api):
    bad = admin_client_api.post(MODULES, {"name": "x", "kind": "robot", "scopes": ["root"]}, format="json")
    assert bad.status_code == 400
    assert set(bad.json()["error"]["details"]["fields"]) == {"kind", "scopes"}

    register(name="taken")
    duplicate = admin_client_api.post(MODULES, {"name": "taken", "kind": "ai"}, format="json")
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["code"] == "duplicate_name"
    assert Module.objects.filter(name="taken").count() == 1


def test_only_admins_manage_modules(user_client, moderator_client, anon_client):
    assert anon_client.get(MODULES).status_code == 401
    assert user_client.get(MODULES).status_code == 403
    assert moderator_client.post(MODULES, {"name": "m", "kind": "ai"}, format="json").status_code == 403
    assert not Module.objects.exists()


def test_admin_changes_scopes_and_deletes_a_module(admin_client_api):
    module, secret = register(scopes=["entities:read"])
    token = token_for(module, secret)

    changed = admin_client_api.patch(
        f"{MODULES}{module.pk}/", {"scopes": ["extraction:write"]}, format="json"
    )
    assert changed.status_code == 200
    assert changed.json()["scopes"] == ["extraction:write"]

    assert admin_client_api.delete(f"{MODULES}{module.pk}/").status_code == 204
    assert not Module.objects.filter(pk=module.pk).exists()
    assert not User.objects.get(pk=module.service_account_id).is_active
    refused = call_scoped_view(f"Bearer {token}")
    assert refused.status_code == 401
    assert error_code(refused) == "module_inactive"


# --- token flow ------------------------------------------------------------------------------
def test_client_credentials_give_a_module_token(settings):
    module, secret = register(scopes=["extraction:write", "entities:read"])

    response = APIClient().post(
        TOKEN, {"grant_type": "client_credentials", "client_id": module.client_id, "client_secret": secret}
    )  # form-encoded, as OAuth2 clients send it

    assert response.status_code == 200
    issued = response.json()
    assert issued["token_type"] == "Bearer"
    assert issued["expires_in"] == settings.MODULE_TOKEN_LIFETIME_MINUTES * 60
    assert issued["scope"] == "entities:read extraction:write"
    assert "refresh_token" not in issued
    assert response["Cache-Control"] == "no-store"
    claims = jwt.decode(issued["access_token"], options={"verify_signature": False})
    assert claims["module"] == module.pk
    assert claims["scope"] == "entities:read extraction:write"
    assert claims["user_id"] == str(module.service_account_id)

    submitted = call_scoped_view(f"Bearer {issued['access_token']}")
    assert submitted.status_code == 200
    assert body(submitted) == {"user_id": module.service_account_id, "module_id": module.pk}


def test_client_credentials_in_http_basic_auth_are_accepted():
    module, secret = register()
    basic = base64.b64encode(f"{module.client_id}:{secret}".encode()).decode()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Basic {basic}")

    response = client.post(TOKEN, {"grant_type": "client_credentials"})

    assert response.status_code == 200
    assert response.json()["access_token"]


@pytest.mark.parametrize("which", ["wrong_secret", "unknown_client"])
def test_wrong_credentials_are_refused_as_invalid_client(which):
    module, secret = register()
    client_id = module.client_id if which == "wrong_secret" else "kgm_nobody"

    response = APIClient().post(TOKEN, {"client_id": client_id, "client_secret": secret + "x"}, format="json")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_client"
    assert "access_token" not in response.json()


def test_token_request_validation():
    response = APIClient().post(TOKEN, {"grant_type": "password", "client_id": "a", "client_secret": "b"})
    assert response.status_code == 400
    assert "grant_type" in response.json()["error"]["details"]["fields"]
    missing = APIClient().post(TOKEN, {}, format="json")
    assert missing.status_code == 400
    assert set(missing.json()["error"]["details"]["fields"]) == {"client_id", "client_secret"}


def test_token_requests_are_rate_limited_per_client():
    module, secret = register()
    with override_settings(MODULE_TOKEN_RATE_PER_CLIENT="2/m"):
        codes = [
            APIClient().post(TOKEN, {"client_id": module.client_id, "client_secret": secret}).status_code
            for _ in range(3)
        ]
        limited = APIClient().post(TOKEN, {"client_id": module.client_id, "client_secret": secret})
    assert codes == [200, 200, 429]
    assert limited.json()["error"]["code"] == "rate_limited"
    assert int(limited["Retry-After"]) >= 1


def test_an_inactive_module_gets_no_token_and_its_tokens_stop_working():
    module, secret = register(scopes=["extraction:write"])
    token = token_for(module, secret)

    module_update(module=module, data={"is_active": False})

    refused = APIClient().post(TOKEN, {"client_id": module.client_id, "client_secret": secret}, format="json")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_client"
    old = call_scoped_view(f"Bearer {token}")
    assert old.status_code == 401
    assert error_code(old) == "module_inactive"


def test_rotating_the_secret_invalidates_the_old_secret_and_its_tokens(admin_client_api):
    module, old_secret = register(scopes=["extraction:write"])
    old_token = token_for(module, old_secret)

    response = admin_client_api.post(f"{MODULES}{module.pk}/rotate-secret/")

    assert response.status_code == 200
    new_secret = response.json()["client_secret"]
    assert new_secret != old_secret
    refused = APIClient().post(
        TOKEN, {"client_id": module.client_id, "client_secret": old_secret}, format="json"
    )
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_client"
    stale = APIClient().get(MODULES, HTTP_AUTHORIZATION=f"Bearer {old_token}")
    assert stale.status_code == 401
    assert stale.json()["error"]["code"] == "token_revoked"
    assert call_scoped_view(f"Bearer {token_for(module, new_secret)}").status_code == 200


# --- scopes and acting for a user ------------------------------------------------------------------
def test_a_module_without_the_scope_is_refused_with_insufficient_scope():
    module, secret = register(scopes=["entities:read"])

    response = call_scoped_view(f"Bearer {token_for(module, secret)}")

    assert response.status_code == 403
    assert error_code(response) == "insufficient_scope"


def test_scopes_do_not_restrict_users_own_tokens(user):
    from rest_framework_simplejwt.tokens import RefreshToken

    response = call_scoped_view(f"Bearer {RefreshToken.for_user(user).access_token}")
    assert response.status_code == 200
    assert body(response) == {"user_id": user.pk, "module_id": None}


def test_a_module_with_act_as_user_runs_the_request_as_that_user(user):
    module, secret = register(scopes=["extraction:write", "act_as_user"])

    response = call_scoped_view(f"Bearer {token_for(module, secret)}", acting_user=str(user.pk))

    assert response.status_code == 200
    assert body(response) == {"user_id": user.pk, "module_id": module.pk}


def test_acting_for_a_user_needs_the_scope(user):
    module, secret = register(scopes=["extraction:write"])

    response = call_scoped_view(f"Bearer {token_for(module, secret)}", acting_user=str(user.pk))

    assert response.status_code == 403
    assert error_code(response) == "insufficient_scope"


@pytest.mark.parametrize("target", ["inactive", "missing", "garbage"])
def test_acting_for_an_inactive_or_unknown_user_is_refused(target):
    module, secret = register(scopes=["extraction:write", "act_as_user"])
    acting = {
        "inactive": lambda: str(make_user(is_active=False).pk),
        "missing": lambda: "987654321",
        "garbage": lambda: "admin",
    }[target]()

    response = call_scoped_view(f"Bearer {token_for(module, secret)}", acting_user=acting)

    assert response.status_code == 403
    assert error_code(response) == "acting_user_refused"


def test_a_user_token_cannot_act_for_another_user(user, other_user):
    from rest_framework_simplejwt.tokens import RefreshToken

    token = RefreshToken.for_user(user).access_token
    response = call_scoped_view(f"Bearer {token}", acting_user=str(other_user.pk))
    assert response.status_code == 403
    assert error_code(response) == "acting_user_refused"


# --- heartbeats ----------------------------------------------------------------------------------
def heartbeat(module, secret, **body):
    return module_client(token_for(module, secret)).post(
        f"{MODULES}{module.pk}/heartbeat/", body, format="json"
    )


@override_settings(MODULE_HEARTBEAT_DEGRADED_SECONDS=60, MODULE_HEARTBEAT_OFFLINE_SECONDS=300)
def test_heartbeats_drive_the_status(admin_client_api):
    module, secret = register()

    def status():
        return admin_client_api.get(f"{MODULES}{module.pk}/").json()["status"]

    assert status() == "offline"
    response = heartbeat(module, secret, status="healthy", details={"queue_depth": 3}, version="1.4.0")
    assert response.status_code == 200
    assert response.json()["version"] == "1.4.0"
    assert response.json()["heartbeat_details"] == {"queue_depth": 3}
    assert status() == "healthy"

    heartbeat(module, secret, status="degraded", details={"gpu": "missing"})
    assert status() == "degraded"

    heartbeat(module, secret)
    Module.objects.filter(pk=module.pk).update(last_heartbeat_at=timezone.now() - timedelta(seconds=120))
    assert status() == "degraded"
    Module.objects.filter(pk=module.pk).update(last_heartbeat_at=timezone.now() - timedelta(seconds=301))
    assert status() == "offline"

    listed = admin_client_api.get(MODULES, {"status": "offline"}).json()
    assert [m["id"] for m in listed["results"]] == [module.pk]
    assert admin_client_api.get(MODULES, {"status": "healthy"}).json()["count"] == 0
    assert admin_client_api.get(MODULES, {"status": "sleepy"}).status_code == 400


def test_heartbeat_only_from_the_module_itself(user_client):
    module, secret = register()
    other, other_secret = register()

    assert heartbeat(other, other_secret).status_code == 200
    foreign = module_client(token_for(other, other_secret)).post(
        f"{MODULES}{module.pk}/heartbeat/", {}, format="json"
    )
    assert foreign.status_code == 404
    assert user_client.post(f"{MODULES}{module.pk}/heartbeat/", {}, format="json").status_code == 403
    assert heartbeat(module, secret, status="exploded").status_code == 400
    assert Module.objects.get(pk=module.pk).last_heartbeat_at is None
