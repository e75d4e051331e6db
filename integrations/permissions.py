"""Permissions for requests made by modules."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.permissions import BasePermission


class HasModuleScope(BasePermission):
    """Requires module tokens to hold every given scope; requests made with a user's own
    token are not affected (their other permissions apply). Use it as an instance:

        permission_classes = [IsAuthenticated, HasModuleScope("extraction:write")]
    """

    def __init__(self, *scopes: str):
        self.scopes = frozenset(scopes)

    def __call__(self) -> HasModuleScope:
        # DRF instantiates each entry of permission_classes; an instance stands for itself.
        return self

    def has_permission(self, request, view) -> bool:
        if getattr(request, "module", None) is None:
            return True
        missing = self.scopes - getattr(request, "module_scopes", frozenset())
        if missing:
            raise exceptions.PermissionDenied(
                {
                    "detail": f"The module's token lacks the scope(s): {', '.join(sorted(missing))}.",
                    "code": "insufficient_scope",
                    "required_scopes": sorted(self.scopes),
                }
            )
        return True


class IsModule(BasePermission):
    """Only requests made with a module token."""

    message = "Only a module's own token can do this."

    def has_permission(self, request, view) -> bool:
        return getattr(request, "module", None) is not None
