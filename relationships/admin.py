"""Django admin for moderators: find and correct relationships (writes go through services)."""

from __future__ import annotations

from django.contrib import admin

from entities.admin import ConfidenceListFilter, ServiceErrorsAsMessages
from relationships.models import Relationship
from relationships.services import (
    RELATIONSHIP_WRITABLE_FIELDS,
    relationship_create,
    relationship_delete,
    relationship_update,
)


@admin.register(Relationship)
class RelationshipAdmin(ServiceErrorsAsMessages, admin.ModelAdmin):
    list_display = ("id", "source", "type", "target", "owner", "confidence", "updated_at")
    list_filter = ("type", ConfidenceListFilter, ("owner", admin.RelatedOnlyFieldListFilter))
    search_fields = ("type", "source__name", "target__name")
    list_select_related = ("source", "target", "owner")
    raw_id_fields = ("owner", "source", "target")
    readonly_fields = ("created_by", "created_via", "created_at", "updated_at", "version")
    fields = ("owner", *RELATIONSHIP_WRITABLE_FIELDS, *readonly_fields)
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "owner") if obj is not None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        data = {
            field: form.cleaned_data[field]
            for field in RELATIONSHIP_WRITABLE_FIELDS
            if field in form.cleaned_data
        }
        if change:
            changed = {field: data[field] for field in form.changed_data if field in data}
            saved = relationship_update(relationship=obj, data=changed, actor=request.user)
        else:
            saved = relationship_create(
                owner=form.cleaned_data["owner"], actor=request.user, via="admin", **data
            )
        obj.pk, obj.version = saved.pk, saved.version

    def delete_model(self, request, obj):
        relationship_delete(relationship=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for relationship in queryset:
            relationship_delete(relationship=relationship, actor=request.user)
