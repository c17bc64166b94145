"""Queue backends, the pipeline and the worker."""

from django.apps import AppConfig


class ProcessingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "processing"

    def ready(self) -> None:
        from dataproc_site.observability.exposition import queue_stats
        from processing.queues import get_queue, queues

        queues.register()
        queue_stats.set_source(lambda: get_queue().stats())
