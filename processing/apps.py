"""Queue backends, the pipeline and the worker."""

from django.apps import AppConfig
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed


def _forget_queue_on_backend_change(*, setting: str, **kwargs) -> None:
    """``override_settings(QUEUE_BACKEND=...)`` must not keep serving the old backend."""
    if setting == "QUEUE_BACKEND":
        from processing.queues import reset_queue

        reset_queue()


def check_queue_backend(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Fail at start-up, not at the first request, when QUEUE_BACKEND names nothing loadable."""
    from django.conf import settings

    from processing.queues import load_queue_class
    from processing.queues.base import BaseQueue

    try:
        backend = load_queue_class(settings.QUEUE_BACKEND)
    except ImproperlyConfigured as exc:
        return [
            checks.Error(str(exc), hint="Use 'database', 'pubsub' or a dotted path.", id="processing.E001")
        ]
    if not (isinstance(backend, type) and issubclass(backend, BaseQueue)):
        return [
            checks.Error(
                f"QUEUE_BACKEND {settings.QUEUE_BACKEND!r} is not a BaseQueue subclass.", id="processing.E002"
            )
        ]
    return []


class ProcessingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "processing"

    def ready(self) -> None:
        setting_changed.connect(_forget_queue_on_backend_change, dispatch_uid="processing.reset_queue")
        checks.register(check_queue_backend)
