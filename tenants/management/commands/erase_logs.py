"""``manage.py erase_logs TENANT [--since T] [--until T] [--all]``: erase a tenant's logs.

A received-at range (``--since`` inclusive, ``--until`` exclusive; RFC 3339 or a
date, read as UTC), or every log with ``--all`` (required: nothing is erased by
leaving the range out). Works in batches, each committed on its own, with a
progress line per batch; a run that was stopped or killed is finished by running
the same command again. ``--user`` names the operator: the erasure is then also
written to the tenant's history in the admin (``LogEntry``).
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.identifiers import identifier_error
from tenants.lifecycle import ErasureInterrupted, describe_range, erase, parse_moment, record_erasure
from tenants.stores import get_store
from tenants.stores.base import LIFECYCLE_BATCH


def moment_option(value: str, option: str) -> datetime:
    try:
        return parse_moment(value)
    except ValueError as exc:
        raise CommandError(f"{option}: {exc}.") from None


class Command(BaseCommand):
    help = "Erase a tenant's logs received in a range (or all of them, with --all), in batches."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("tenant_id", help="The tenant whose logs are erased.")
        parser.add_argument("--since", help="Erase logs received at or after this time (UTC).")
        parser.add_argument("--until", help="Erase logs received before this time (UTC).")
        parser.add_argument(
            "--all", action="store_true", dest="everything", help="Erase every log of the tenant."
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=LIFECYCLE_BATCH,
            help=f"Logs per batch (each batch is committed on its own). Default {LIFECYCLE_BATCH}.",
        )
        parser.add_argument(
            "--pause",
            type=float,
            default=0.0,
            help="Seconds to wait between batches, to leave the store to the worker. Default 0.",
        )
        parser.add_argument("--user", help="Username of the operator, for the admin's history entry.")

    def handle(self, *args, tenant_id: str, since, until, everything: bool, **options) -> None:
        problem = identifier_error(tenant_id, "tenant id")
        if problem:
            raise CommandError(problem)
        received_after = moment_option(since, "--since") if since else None
        received_before = moment_option(until, "--until") if until else None
        if everything and (received_after or received_before):
            raise CommandError("--all erases every log: leave out --since and --until, or drop --all.")
        if not everything and not (received_after or received_before):
            raise CommandError(
                "Name a range with --since and/or --until, or pass --all to erase every log of the tenant."
            )
        if received_after and received_before and received_after >= received_before:
            raise CommandError("--since must be earlier than --until.")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        if options["pause"] < 0:
            raise CommandError("--pause cannot be negative.")
        user = self._operator(options["user"])
        what = describe_range(received_after, received_before)
        self.stdout.write(f"Erasing the logs of {tenant_id}: {what}.")
        try:
            erased, finished = erase(
                get_store(),
                tenant_id,
                received_after=received_after,
                received_before=received_before,
                batch_size=options["batch_size"],
                pause_seconds=options["pause"],
                progress=self.stdout.write,
            )
        except ErasureInterrupted as exc:
            if user is not None:
                self._record(user, tenant_id, received_after, received_before, exc.erased, finished=False)
            raise CommandError(
                f"The log store is unavailable after {exc.erased} log(s) were erased: {exc}. "
                "Run the same command again to finish the erasure."
            ) from exc
        if user is not None:
            self._record(user, tenant_id, received_after, received_before, erased, finished=finished)
        self.stdout.write(f"Done: erased {erased} log(s) of {tenant_id} ({what}).")

    @staticmethod
    def _record(
        user, tenant_id: str, received_after, received_before, erased: int, *, finished: bool
    ) -> None:
        record_erasure(
            user.pk,
            tenant_id,
            received_after=received_after,
            received_before=received_before,
            erased=erased,
            finished=finished,
            how="manage.py erase_logs",
        )

    @staticmethod
    def _operator(username: str | None):
        if not username:
            return None
        user = get_user_model().objects.filter(**{get_user_model().USERNAME_FIELD: username}).first()
        if user is None:
            raise CommandError(f"No user {username!r} (--user names who erases, for the admin's history).")
        return user
