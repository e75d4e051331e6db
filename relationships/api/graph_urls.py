"""Graph traversal and export endpoints."""

urlpatterns: list = []
