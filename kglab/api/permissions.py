"""Who may do what with owned rows. Which rows a user reaches at all is decided by
`OwnedQuerySet.visible_to` / `editable_by` (a foreign row is simply not found); this module
holds the remaining role rules."""

from __future__ import annotations

from rest_framework import permissions


class IsActiveUser(permissions.BasePermission):
    """An authenticated, active account (anonymous requests get 401)."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active)


def may_act_for_owner(user, owner) -> bool:
    """Creating rows for someone else is an admin's privilege, and only when asked for
    explicitly; everyone else creates rows they own."""
    return owner is None or owner.pk == user.pk or user.is_admin
