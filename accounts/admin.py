"""Django admin for users. Only admins reach it: `User.has_module_perms("accounts")` is false
for moderators, so they neither see nor manage users (they moderate graph data only)."""

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from accounts.models import Role, User
from accounts.services import user_refresh_tokens_revoke


class UserCreationAdminForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "name", "role")


class UserChangeAdminForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        user = self.instance
        demoted = cleaned.get("role", user.role) != Role.ADMIN or not cleaned.get("is_active", user.is_active)
        if (
            user.pk
            and user.is_admin
            and user.is_active
            and demoted
            and not User.objects.filter(role=Role.ADMIN, is_active=True).exclude(pk=user.pk).exists()
        ):
            raise forms.ValidationError("This is the last active admin; promote another admin first.")
        return cleaned


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeAdminForm
    add_form = UserCreationAdminForm
    list_display = ("email", "name", "role", "is_active", "date_joined", "last_login")
    list_filter = ("role", "is_active")
    search_fields = ("email", "name")
    ordering = ("id",)
    filter_horizontal = ()
    readonly_fields = ("date_joined", "last_login", "updated_at")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("name",)}),
        ("Access", {"fields": ("role", "is_active")}),
        ("Dates", {"fields": ("date_joined", "last_login", "updated_at")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "name", "role", "usable_password", "password1", "password2"),
            },
        ),
    )

    def save_model(self, request, obj, form, change):
        if change:
            obj.version += 1  # API clients holding the old ETag must re-read
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            # Access tokens stop at once (is_active is checked per request); refresh tokens too.
            user_refresh_tokens_revoke(user=obj)
