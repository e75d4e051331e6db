"""API of the module registry: the client-credentials token endpoint, the admin CRUD with
secret rotation, and the heartbeat a module sends about itself."""

from __future__ import annotations

import base64
import binascii

from django.conf import settings
from django.db import IntegrityError
from django.http import Http404
from django_ratelimit.core import get_usage
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAdmin
from integrations.models import Module, ModuleKind, ModuleScope, ModuleStatus
from integrations.permissions import IsModule
from integrations.selectors_modules import module_get, module_list
from integrations.services_modules import (
    module_create,
    module_delete,
    module_heartbeat,
    module_rotate_secret,
    module_token_issue,
    module_update,
)
from kglab.api.exceptions import Conflict


class IsAdminForModules(IsAdmin):
    message = "Only admins can manage modules."


# --- serializers -------------------------------------------------------------------------------
class ModuleSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=ModuleStatus.choices, read_only=True)
    service_account_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = Module
        fields = [
            "id",
            "name",
            "kind",
            "description",
            "client_id",
            "scopes",
            "is_active",
            "status",
            "last_heartbeat_at",
            "reported_status",
            "heartbeat_details",
            "version",
            "service_account_id",
            "secret_rotated_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ModuleWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=ModuleKind.choices)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=ModuleScope.choices), default=list)
    is_active = serializers.BooleanField(required=False, default=True)


class ModuleCredentialsSerializer(ModuleSerializer):
    client_secret = serializers.CharField(read_only=True, help_text="Shown once; store it now.")

    class Meta(ModuleSerializer.Meta):
        fields = [*ModuleSerializer.Meta.fields, "client_secret"]
        read_only_fields = fields


class HeartbeatSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[ModuleStatus.HEALTHY, ModuleStatus.DEGRADED], default=ModuleStatus.HEALTHY
    )
    details = serializers.DictField(required=False, default=dict)
    version = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class ModuleTokenRequestSerializer(serializers.Serializer):
    grant_type = serializers.CharField(required=False, default="client_credentials")
    client_id = serializers.CharField(max_length=64)
    client_secret = serializers.CharField(max_length=256, trim_whitespace=False)

    def validate_grant_type(self, value: str) -> str:
        if value != "client_credentials":
            raise serializers.ValidationError("Only the client_credentials grant is supported.")
        return value


class ModuleTokenSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    token_type = serializers.CharField()
    expires_in = serializers.IntegerField(help_text="Seconds until the token expires.")
    scope = serializers.CharField(help_text="Space-separated scopes.")


# --- views -----------------------------------------------------------------------------------
def _credentials_from_basic_auth(request: Request) -> dict:
    """client_id/client_secret from `Authorization: Basic` (RFC 6749 section 2.3.1)."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header.lower().startswith("basic "):
        return {}
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        client_id, client_secret = decoded.split(":", 1)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return {}
    return {"client_id": client_id, "client_secret": client_secret}


def _token_rate_limit_check(request: Request, client_id: str) -> None:
    limits = [("modules.token.ip", "ip", settings.MODULE_TOKEN_RATE_PER_IP)]
    if client_id:
        limits.append(
            ("modules.token.client", lambda group, req: client_id, settings.MODULE_TOKEN_RATE_PER_CLIENT)
        )
    for group, key, rate in limits:
        usage = get_usage(request, group=group, key=key, rate=rate, method="POST", increment=True)
        if usage is not None and usage["should_limit"]:
            raise exceptions.Throttled(
                wait=max(1, usage["time_left"]),
                detail="Too many token requests; retry later.",
                code="rate_limited",
            )


class ModuleTokenView(APIView):
    """OAuth2 client-credentials grant for modules: exchanges `client_id` + `client_secret`
    (JSON, form, or HTTP Basic) for a JWT access token carrying the claims `module` and
    `scope`. No refresh token. Wrong credentials or a deactivated module: 401 `invalid_client`.
    Rate limited per client IP and per client id (429)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    def get_authenticate_header(self, request: Request) -> str:
        # invalid_client is a 401 with a Basic challenge (RFC 6749 section 5.2).
        return 'Basic realm="module-token"'

    @extend_schema(
        request=ModuleTokenRequestSerializer,
        responses={200: ModuleTokenSerializer, 401: OpenApiResponse(description="invalid_client")},
        tags=["modules"],
        auth=[],
    )
    def post(self, request: Request) -> Response:
        body = request.data.dict() if hasattr(request.data, "dict") else request.data
        if not isinstance(body, dict):
            raise exceptions.ValidationError("Send an object with client_id and client_secret.")
        data = {**_credentials_from_basic_auth(request), **body}
        client_id = data.get("client_id")
        _token_rate_limit_check(request, client_id if isinstance(client_id, str) else "")
        serializer = ModuleTokenRequestSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        token = module_token_issue(
            client_id=serializer.validated_data["client_id"],
            client_secret=serializer.validated_data["client_secret"],
        )
        response = Response(ModuleTokenSerializer(token).data)
        response["Cache-Control"] = "no-store"
        return response


@extend_schema(tags=["modules"])
class ModuleViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Registered modules (admins only), with their status computed from heartbeats:
    healthy, degraded (late heartbeat or self-reported) or offline."""

    serializer_class = ModuleSerializer
    permission_classes = [IsAdminForModules]
    queryset = Module.objects.none()
    filterset_fields = ["kind", "is_active"]
    ordering_fields = ["name", "created_at", "last_heartbeat_at"]

    def get_queryset(self):
        modules = module_list()
        wanted = self.request.query_params.get("status")
        if wanted:
            if wanted not in ModuleStatus.values:
                raise exceptions.ValidationError(
                    {"status": [f"Choose one of: {', '.join(ModuleStatus.values)}."]}
                )
            modules = modules.filter(status=wanted)
        return modules

    @extend_schema(
        parameters=[OpenApiParameter("status", str, enum=ModuleStatus.values, description="Computed status.")]
    )
    def list(self, request: Request, *args, **kwargs) -> Response:
        """Registered modules, filterable by kind, is_active and computed status."""
        return super().list(request, *args, **kwargs)

    def _refetch(self, module: Module) -> Module:
        return module_get(pk=module.pk)

    @extend_schema(request=ModuleWriteSerializer, responses={201: ModuleCredentialsSerializer})
    def create(self, request: Request) -> Response:
        """Registers a module and its service account. The response holds the client secret,
        shown this once."""
        serializer = ModuleWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if Module.objects.filter(name=serializer.validated_data["name"]).exists():
            raise Conflict({"code": "duplicate_name", "detail": "A module with this name exists already."})
        credentials = module_create(**serializer.validated_data)
        body = ModuleSerializer(self._refetch(credentials.module)).data
        return Response({**body, "client_secret": credentials.client_secret}, status=status.HTTP_201_CREATED)

    @extend_schema(request=ModuleWriteSerializer, responses={200: ModuleSerializer})
    def partial_update(self, request: Request, pk=None) -> Response:
        """Changes name, kind, description, scopes or is_active (deactivating refuses the
        module's tokens at once)."""
        module = self.get_object()
        serializer = ModuleWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        try:
            module = module_update(module=module, data=serializer.validated_data)
        except IntegrityError as exc:
            raise Conflict(
                {"code": "duplicate_name", "detail": "A module with this name exists already."}
            ) from exc
        return Response(ModuleSerializer(self._refetch(module)).data)

    def perform_destroy(self, instance: Module) -> None:
        module_delete(module=instance)

    @extend_schema(request=None, responses={200: ModuleCredentialsSerializer})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk=None) -> Response:
        """Replaces the client secret; the old one and every token issued with it stop
        working. The new secret is in this response only."""
        credentials = module_rotate_secret(module=self.get_object())
        body = ModuleSerializer(self._refetch(credentials.module)).data
        return Response({**body, "client_secret": credentials.client_secret})

    @extend_schema(request=HeartbeatSerializer, responses={200: ModuleSerializer})
    @action(detail=True, methods=["post"], permission_classes=[IsModule])
    def heartbeat(self, request: Request, pk=None) -> Response:
        """Sent by the module itself, with its own token: its status as it sees it, details
        and version. A module cannot send another module's heartbeat (404)."""
        if str(request.module.pk) != str(pk):
            raise Http404
        serializer = HeartbeatSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        module = module_heartbeat(module=request.module, **serializer.validated_data)
        return Response(ModuleSerializer(self._refetch(module)).data)
