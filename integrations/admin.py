"""Django admin of the integrations app. Modules and dead letters are for admins only (not
moderators): they hold credentials and can re-run work."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from integrations.models import DeadLetter, Module, ModuleScope
from integrations.services_dead_letters import dead_letter_replay
from integrations.services_modules import module_create, module_delete, module_rotate_secret, module_update
from kglab.api.exceptions import Conflict


class AdminsOnly:
    def _is_admin(self, request) -> bool:
        return bool(request.user.is_active and getattr(request.user, "is_admin", False))

    def has_module_permission(self, request) -> bool:
        return self._is_admin(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._is_admin(request)

    def has_add_permission(self, request) -> bool:
        return self._is_admin(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._is_admin(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._is_admin(request)


class ModuleAdminForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=ModuleScope.choices, widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = Module
        fields = ["name", "kind", "description", "scopes", "is_active"]


def _show_secret(request, module: Module, secret: str) -> None:
    messages.warning(
        request,
        f"Module {module.name}: client_id {module.client_id}, client_secret {secret} "
        "(shown this once; store it now).",
    )


@admin.register(Module)
class ModuleAdmin(AdminsOnly, admin.ModelAdmin):
    form = ModuleAdminForm
    list_display = [
        "name",
        "kind",
        "client_id",
        "is_active",
        "last_heartbeat_at",
        "reported_status",
        "version",
    ]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "client_id"]
    readonly_fields = [
        "client_id",
        "service_account",
        "secret_rotated_at",
        "last_heartbeat_at",
        "reported_status",
        "heartbeat_details",
        "version",
        "created_at",
        "updated_at",
    ]
    actions = ["rotate_secret"]

    def save_model(self, request, obj, form, change):
        data = {field: form.cleaned_data[field] for field in ModuleAdminForm.Meta.fields}
        if change:
            module_update(module=obj, data=data)
            return
        credentials = module_create(**data)
        obj.pk = credentials.module.pk
        obj.client_id = credentials.module.client_id
        obj._state.adding = False
        _show_secret(request, credentials.module, credentials.client_secret)

    def delete_model(self, request, obj):
        module_delete(module=obj)

    def delete_queryset(self, request, queryset):
        for module in queryset:
            module_delete(module=module)

    @admin.action(description="Rotate the client secret (the old one stops working)")
    def rotate_secret(self, request, queryset):
        for module in queryset:
            credentials = module_rotate_secret(module=module)
            _show_secret(request, module, credentials.client_secret)


@admin.register(DeadLetter)
class DeadLetterAdmin(AdminsOnly, admin.ModelAdmin):
    list_display = ["id", "task_name", "queue", "attempts", "reason", "dead_lettered_at", "replayed_at"]
    list_filter = ["queue", "reason", ("replayed_at", admin.EmptyFieldListFilter)]
    search_fields = ["task_name", "task_id", "error"]
    exclude = ["message_body"]
    actions = ["replay"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in DeadLetter._meta.fields if field.name != "message_body"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Replay the original messages")
    def replay(self, request, queryset):
        replayed = 0
        for letter in queryset:
            try:
                dead_letter_replay(dead_letter=letter, by=request.user)
                replayed += 1
            except Conflict as exc:
                messages.error(request, f"Dead letter {letter.pk}: {exc.detail['detail']}")
        if replayed:
            messages.success(request, f"{replayed} dead letter(s) replayed.")
