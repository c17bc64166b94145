"""Public API routes."""

urlpatterns: list = []
