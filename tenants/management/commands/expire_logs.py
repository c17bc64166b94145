"""``manage.py expire_logs [--batch-size N]``: the retention sweep, once.

Deletes records past their ``expires_at`` (the database store; Firestore's TTL
policy does it there, see ``tenants.stores.firestore``), blanks original text past
its ``original_text_expires_at`` (every store), and corrects counters that drifted
(Firestore). Batched, with a progress line per batch; safe while the worker runs;
running it again finds nothing left to do. Production runs it hourly (Cloud
Scheduler, terraform/modules/dataproc/scheduler.tf); ``run_worker`` runs it every
``EXPIRE_LOGS_INTERVAL_SECONDS`` on the embedded setup.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.lifecycle import sweep
from tenants.stores import StoreUnavailable, get_store
from tenants.stores.base import LIFECYCLE_BATCH


class Command(BaseCommand):
    help = "Delete expired logs and clear expired original text (the retention sweep), in batches."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=LIFECYCLE_BATCH,
            help=f"Records per batch (each batch is committed on its own). Default {LIFECYCLE_BATCH}.",
        )

    def handle(self, *args, batch_size: int, **options) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            report = sweep(get_store(), batch_size=batch_size, progress=self.stdout.write)
        except StoreUnavailable as exc:
            raise CommandError(f"The log store is unavailable; nothing more was swept: {exc}") from exc
        self.stdout.write(report.summary())
