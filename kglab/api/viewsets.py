"""The one base of every API over owned rows.

Subclasses declare a queryset, a serializer, a filterset and the services that write; the
base supplies what must be identical everywhere:

* reads go through `visible_to(user)`, writes through `editable_by(user)`: another owner's
  row is a 404 on every endpoint, never a 403 that would confirm it exists;
* `owner` is the requesting user on create; an admin may create for another owner only by
  naming it (`"owner": <id>`), anyone else naming a different owner gets 403;
* every detail response carries an ETag (`"<id>-<version>"`); GET honours If-None-Match
  (304), and PUT/PATCH/DELETE honour If-Match on the row locked FOR UPDATE inside the
  transaction that writes it, so of two writers holding the same ETag exactly one wins and
  the other gets 412 `precondition_failed`;
* writes are delegated to keyword-only services (`create_service`, `update_service`,
  `delete_service`, and `bulk_upsert_service` for `BulkUpsertMixin`), which record events.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from django.contrib.auth import get_user_model
from django.db import transaction
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from kglab.api.concurrency import check_if_match, etag_for, if_none_match_hit
from kglab.api.filters import RankAwareOrderingFilter
from kglab.api.permissions import IsActiveUser, may_act_for_owner

IF_MATCH_PARAMETER = OpenApiParameter(
    name="If-Match",
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description="ETag of the version you read; the write fails with 412 if the row changed since.",
)
IF_NONE_MATCH_PARAMETER = OpenApiParameter(
    name="If-None-Match",
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description="ETag you hold; 304 Not Modified if it is still current.",
)
PRECONDITION_FAILED = OpenApiResponse(description="If-Match does not match the current ETag.")


class OwnerField(serializers.PrimaryKeyRelatedField):
    """The owner of a row: written only on create (admins, for another user), read always."""

    def get_queryset(self):
        return get_user_model().objects.filter(is_active=True)


class OwnedModelViewSet(viewsets.ModelViewSet):
    """CRUD over an `OwnedModel`, scoped, versioned and written through services."""

    permission_classes: ClassVar = [IsActiveUser]
    filter_backends: ClassVar = [DjangoFilterBackend, RankAwareOrderingFilter]
    create_service: ClassVar[Callable | None] = None
    update_service: ClassVar[Callable | None] = None
    delete_service: ClassVar[Callable | None] = None
    # Keyword under which update/delete services take the row, e.g. "entity".
    service_instance_kwarg: ClassVar[str] = "instance"
    via: ClassVar[str] = "api"

    # --- scoping ------------------------------------------------------------------------

    def get_queryset(self):
        queryset = super().get_queryset()
        user = self.request.user
        if self.request.method in SAFE_METHODS:
            return queryset.visible_to(user)
        return queryset.editable_by(user)

    def filter_queryset(self, queryset):
        # Filters and ordering shape lists. On one row they change nothing a client may rely
        # on, and building the FilterSet and its form is most of a detail request's Python time.
        if self.detail:
            return queryset
        filterset_class = getattr(self, "filterset_class", None)
        # Without any of its parameters a FilterSet filters nothing: skip building it.
        unasked = filterset_class is not None and self.request.query_params.keys().isdisjoint(
            filterset_class.base_filters
        )
        for backend in self.filter_backends:
            if backend is DjangoFilterBackend and unasked:
                continue
            queryset = backend().filter_queryset(self.request, queryset, self)
        return queryset

    def get_locked_object(self, *, for_delete: bool = False):
        """The row addressed by the URL, editable by the caller, locked until the end of the
        current transaction (FOR NO KEY UPDATE for changes, FOR UPDATE for deletes)."""
        queryset = self.get_queryset().select_for_update(of=("self",), no_key=not for_delete)
        lookup_url_kwarg = self.lookup_url_kwarg or self.lookup_field
        instance = get_object_or_404(queryset, **{self.lookup_field: self.kwargs[lookup_url_kwarg]})
        self.check_object_permissions(self.request, instance)
        return instance

    def requested_owner(self, body):
        """The owner of new rows: the caller, or (admins only) the user named by `owner`."""
        requested = None
        if isinstance(body, dict) and body.get("owner") is not None:
            try:
                requested = OwnerField().run_validation(body["owner"])
            except exceptions.ValidationError as error:
                raise exceptions.ValidationError({"owner": error.detail}) from error
        user = self.request.user
        if not may_act_for_owner(user, requested):
            raise exceptions.PermissionDenied("Only admins may create rows for another owner.")
        return requested or user

    @staticmethod
    def with_etag(response: Response, instance) -> Response:
        response["ETag"] = etag_for(instance)
        return response

    # --- endpoints ----------------------------------------------------------------------

    @extend_schema(parameters=[IF_NONE_MATCH_PARAMETER])
    def retrieve(self, request, *args, **kwargs):
        instance = self.get_object()
        if if_none_match_hit(request, instance):
            return self.with_etag(Response(status=status.HTTP_304_NOT_MODIFIED), instance)
        return self.with_etag(Response(self.get_serializer(instance).data), instance)

    def create(self, request, *args, **kwargs):
        # Who the row is for is settled before the input: a forbidden owner is a 403 whatever
        # else the body says.
        owner = self.requested_owner(request.data)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("owner", None)
        instance = type(self).create_service(owner=owner, actor=request.user, via=self.via, **data)
        response = Response(self.get_serializer(instance).data, status=status.HTTP_201_CREATED)
        return self.with_etag(response, instance)

    @extend_schema(parameters=[IF_MATCH_PARAMETER], responses={200: None, 412: PRECONDITION_FAILED})
    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        with transaction.atomic():
            instance = self.get_locked_object()
            check_if_match(request, instance)
            serializer = self.get_serializer(instance, data=request.data, partial=partial)
            serializer.is_valid(raise_exception=True)
            data = dict(serializer.validated_data)
            owner = data.pop("owner", None)
            if owner is not None and owner.pk != instance.owner_id:
                raise exceptions.ValidationError({"owner": ["The owner of a row cannot be changed."]})
            instance = type(self).update_service(
                **{self.service_instance_kwarg: instance}, data=data, actor=request.user
            )
        return self.with_etag(Response(self.get_serializer(instance).data), instance)

    @extend_schema(parameters=[IF_MATCH_PARAMETER], responses={200: None, 412: PRECONDITION_FAILED})
    def partial_update(self, request, *args, **kwargs):
        kwargs["partial"] = True
        return self.update(request, *args, **kwargs)

    @extend_schema(parameters=[IF_MATCH_PARAMETER], responses={204: None, 412: PRECONDITION_FAILED})
    def destroy(self, request, *args, **kwargs):
        with transaction.atomic():
            instance = self.get_locked_object(for_delete=True)
            check_if_match(request, instance)
            type(self).delete_service(**{self.service_instance_kwarg: instance}, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


BULK_UPSERT_STATUSES = ("created", "updated", "unchanged")


class BulkUpsertResponseSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    results = serializers.ListField(child=serializers.DictField())


class BulkUpsertMixin:
    """`POST <list>/bulk/` with `{"items": [...], "owner": <id, admins only>}`: hands the
    items to `bulk_upsert_service` (which validates them, naming the index of each bad item)
    and answers 200 with the counts and, per item in input order, its row and `status`."""

    bulk_upsert_service: ClassVar[Callable | None] = None

    @action(detail=False, methods=["post"], url_path="bulk")
    def bulk(self, request, *args, **kwargs):
        body = request.data
        if not isinstance(body, dict) or "items" not in body:
            raise exceptions.ValidationError({"items": ["This field is required."]})
        unknown = set(body) - {"items", "owner"}
        if unknown:
            raise exceptions.ValidationError({field: ["Unknown field."] for field in sorted(unknown)})
        owner = self.requested_owner(body)
        result = type(self).bulk_upsert_service(
            owner=owner, items=body["items"], actor=request.user, via="bulk"
        )
        serializer = self.get_serializer(result.objects, many=True)
        results = [
            {"status": item_status, **row}
            for item_status, row in zip(result.statuses, serializer.data, strict=True)
        ]
        return Response(
            {
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "results": results,
            }
        )
