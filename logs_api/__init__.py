"""The tenant-facing read API: ``GET /logs``, ``GET /logs/{log_id}`` (redacted text only)."""
