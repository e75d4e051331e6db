from rest_framework.permissions import BasePermission


class IsAdmin(BasePermission):
    """Only users with the admin role (read from the database on every request)."""

    message = "Only admins can manage users."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_admin)
