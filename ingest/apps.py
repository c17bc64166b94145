"""The public ingest API."""

from __future__ import annotations

from django.apps import AppConfig
from django.conf import settings
from django.core import checks

# The simulated work of the longest text must leave this share of the deadline for
# the rest of a delivery (redaction, the store write, the ack).
WORK_SHARE_OF_DEADLINE = 0.9


def work_deadline() -> tuple[str, float]:
    """The setting that bounds one log's work in the configured worker mode, and its seconds."""
    if settings.WORKER_MODE == "push":
        return "PUBSUB_PUSH_ACK_DEADLINE_SECONDS", float(settings.PUBSUB_PUSH_ACK_DEADLINE_SECONDS)
    return "WORKER_MESSAGE_DEADLINE_SECONDS", float(settings.WORKER_MESSAGE_DEADLINE_SECONDS)


def check_longest_log_fits_the_deadline(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """ingest.E001: a log the intake accepts must be one the worker can finish.

    Otherwise the longest logs would be accepted (202), then time out on every
    delivery until they are dead-lettered: accepted and never processed.
    """
    work_seconds = settings.INGEST_MAX_TEXT_CHARS * settings.PROCESSING_DELAY_PER_CHAR
    deadline_name, deadline = work_deadline()
    if work_seconds <= deadline * WORK_SHARE_OF_DEADLINE:
        return []
    longest = int(deadline * WORK_SHARE_OF_DEADLINE / settings.PROCESSING_DELAY_PER_CHAR)
    return [
        checks.Error(
            f"A log of INGEST_MAX_TEXT_CHARS ({settings.INGEST_MAX_TEXT_CHARS}) characters takes "
            f"{work_seconds:g} s of work at PROCESSING_DELAY_PER_CHAR ({settings.PROCESSING_DELAY_PER_CHAR:g}), "
            f"more than {WORK_SHARE_OF_DEADLINE:.0%} of {deadline_name} ({deadline:g} s, "
            f"WORKER_MODE={settings.WORKER_MODE}): such logs would be accepted and never processed.",
            hint=(
                f"Lower INGEST_MAX_TEXT_CHARS to at most {longest}, lower PROCESSING_DELAY_PER_CHAR, "
                f"or raise {deadline_name}."
            ),
            id="ingest.E001",
        )
    ]


class IngestConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "ingest"

    def ready(self) -> None:
        checks.register(check_longest_log_fits_the_deadline)
