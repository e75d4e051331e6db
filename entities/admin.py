"""Django admin for moderators: find, inspect, correct and merge entities. Every write goes
through the services, so admin changes record their events like API changes do."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from rest_framework.exceptions import APIException

from entities.models import Entity
from entities.services import (
    ENTITY_WRITABLE_FIELDS,
    entity_create,
    entity_delete,
    entity_merge,
    entity_update,
)
from relationships.models import Relationship


def service_error_text(error: APIException) -> str:
    detail = error.detail
    if isinstance(detail, dict):
        return str(detail.get("detail") or "; ".join(f"{key}: {value}" for key, value in detail.items()))
    return str(detail)


class ServiceErrorsAsMessages:
    """A service that refuses a change (duplicate name, ends of another owner, ...) raises an
    API error; in the admin it becomes an error message on the same page, the transaction of
    the form rolled back, instead of a server error."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except APIException as error:
            self.message_user(request, f"Not saved: {service_error_text(error)}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


class ConfidenceListFilter(admin.SimpleListFilter):
    """Confidence in three bands (low < 0.3 <= medium < 0.7 <= high)."""

    title = "confidence"
    parameter_name = "confidence_band"
    bands = {"low": (0.0, 0.3), "medium": (0.3, 0.7), "high": (0.7, 1.01)}

    def lookups(self, request, model_admin):
        return [("low", "low (< 0.3)"), ("medium", "medium (0.3 to 0.7)"), ("high", "high (>= 0.7)")]

    def queryset(self, request, queryset):
        band = self.bands.get(self.value())
        if band is None:
            return queryset
        return queryset.filter(confidence__gte=band[0], confidence__lt=band[1])


class _EdgeInline(admin.TabularInline):
    """Edges shown read-only on the entity page; they are edited on their own page."""

    model = Relationship
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class OutgoingRelationshipInline(_EdgeInline):
    fk_name = "source"
    verbose_name = "outgoing relationship"
    verbose_name_plural = "outgoing relationships"
    fields = readonly_fields = ("type", "target", "confidence", "updated_at")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("target")


class IncomingRelationshipInline(_EdgeInline):
    fk_name = "target"
    verbose_name = "incoming relationship"
    verbose_name_plural = "incoming relationships"
    fields = readonly_fields = ("source", "type", "confidence", "updated_at")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("source")


@admin.register(Entity)
class EntityAdmin(ServiceErrorsAsMessages, admin.ModelAdmin):
    list_display = ("id", "name", "type", "owner", "confidence", "mention_count", "updated_at")
    list_display_links = ("id", "name")
    list_filter = ("type", ConfidenceListFilter, ("owner", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name", "normalized_name", "description")
    list_select_related = ("owner",)
    raw_id_fields = ("owner",)
    readonly_fields = (
        "normalized_name",
        "created_by",
        "created_via",
        "created_at",
        "updated_at",
        "version",
    )
    fields = ("owner", *ENTITY_WRITABLE_FIELDS, *readonly_fields)
    inlines = (OutgoingRelationshipInline, IncomingRelationshipInline)
    actions = ("merge_selected",)
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).defer("embedding")

    def get_readonly_fields(self, request, obj=None):
        # The owner of an existing entity never changes.
        return (*self.readonly_fields, "owner") if obj is not None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        data = {
            field: form.cleaned_data[field] for field in ENTITY_WRITABLE_FIELDS if field in form.cleaned_data
        }
        if change:
            changed = {field: data[field] for field in form.changed_data if field in data}
            saved = entity_update(entity=obj, data=changed, actor=request.user)
        else:
            saved = entity_create(owner=form.cleaned_data["owner"], actor=request.user, via="admin", **data)
        obj.pk, obj.version = saved.pk, saved.version

    def delete_model(self, request, obj):
        entity_delete(entity=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for entity in queryset:
            entity_delete(entity=entity, actor=request.user)

    @admin.action(description="Merge selected entities into the one with the highest confidence")
    def merge_selected(self, request, queryset):
        rows = list(queryset.order_by("-confidence", "id").only("id", "name", "owner_id", "confidence"))
        if len(rows) < 2:
            self.message_user(request, "Select at least two entities to merge.", messages.WARNING)
            return
        survivor, *others = rows
        try:
            result = entity_merge(survivor=survivor, merge_ids=[row.pk for row in others], actor=request.user)
        except APIException as error:
            self.message_user(request, f"Not merged: {service_error_text(error)}", messages.ERROR)
            return
        counts = result["relationships"]
        self.message_user(
            request,
            f"Merged {len(others)} entities into {survivor.name} (#{survivor.pk}): "
            f"{counts['redirected']} relationships redirected, {counts['combined']} combined, "
            f"{counts['dropped_self_loops']} self-loops dropped.",
            messages.SUCCESS,
        )
