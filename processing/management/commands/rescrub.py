"""``python manage.py rescrub TENANT [--since ...] [--until ...]``: apply the tenant's current policy to stored logs.

Every processed log received in the range (all of them without one) is scrubbed
again from its original text and gets the new redacted text, attributes, findings
and policy version, once: records already at the version are not written again, so
running it twice changes nothing the second time, and a run that was interrupted
(Ctrl-C, SIGTERM, a crash) is finished by running it again. Logs whose original
text was not kept or has expired are skipped and counted. See ``processing.rescrub``.

Progress goes to stdout after every page, with the cursor to go on from
(``--from``), which saves reading again what an interrupted run already did.
"""

from __future__ import annotations

import re
import signal
from datetime import UTC, datetime, timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from processing.rescrub import PAGE_SIZE, Rescrubber, RescrubReport
from tenants.models import Tenant
from tenants.stores import StoreUnavailable

RELATIVE = re.compile(r"(?P<amount>\d{1,6})(?P<unit>[smhd])")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_moment(value: str, *, now: datetime | None = None) -> datetime:
    """``2026-12-01``, ``2026-12-01T09:30``, ``2026-12-01T09:30:00+01:00`` (no zone: UTC), or
    ``90m`` / ``1h`` / ``7d`` ago."""
    relative = RELATIVE.fullmatch(value.strip())
    if relative:
        ago = timedelta(**{UNITS[relative["unit"]]: int(relative["amount"])})
        return (now or timezone.now()) - ago
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise CommandError(
            f"{value!r} is not a time: use ISO 8601 (2026-12-01, 2026-12-01T09:30:00Z) or an age such as 1h, 7d"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Command(BaseCommand):
    help = (
        "Apply a tenant's current redaction policy to the logs it already stored, from their original text."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("tenant_id", help="The tenant whose logs to re-scrub.")
        parser.add_argument(
            "--since", help="Only logs received at or after this time (ISO 8601, or an age: 1h, 7d)."
        )
        parser.add_argument("--until", help="Only logs received before this time (ISO 8601, or an age).")
        parser.add_argument(
            "--from",
            dest="start_cursor",
            help="Go on from this cursor (printed with every progress line) instead of the newest log.",
        )
        parser.add_argument(
            "--page-size", type=int, default=PAGE_SIZE, help=f"Logs read per page. Default {PAGE_SIZE}."
        )

    def handle(self, *args, **options) -> None:
        tenant_id = options["tenant_id"]
        if not Tenant.objects.filter(pk=tenant_id).exists():
            raise CommandError(f"no tenant {tenant_id!r} (manage.py create_tenant)")
        now = timezone.now()
        since = parse_moment(options["since"], now=now) if options["since"] else None
        until = parse_moment(options["until"], now=now) if options["until"] else None
        if since and until and since >= until:
            raise CommandError("--since must be earlier than --until")
        if not 1 <= options["page_size"] <= 500:
            raise CommandError("--page-size must be between 1 and 500")

        self.shutdown = False
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            report = self._run(tenant_id, since, until, options)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write(f"rescrub {tenant_id}: done. {report.summary()}.")
        if report.without_original:
            self.stdout.write(
                f"rescrub {tenant_id}: {report.without_original} log(s) kept their earlier redaction: "
                "their original text was not kept or has expired."
            )

    def _run(self, tenant_id: str, since, until, options) -> RescrubReport:
        try:
            rescrubber = Rescrubber(tenant_id)
        except StoreUnavailable as exc:
            raise CommandError(f"cannot read the tenant's policy: {exc}") from exc
        window = f"received {'from ' + since.isoformat() if since else 'ever'}"
        window += f" until {until.isoformat()}" if until else ""
        self.stdout.write(
            f"rescrub {tenant_id}: policy version {rescrubber.policy_version}, logs {window}"
            + (f", going on from {options['start_cursor']}" if options["start_cursor"] else "")
        )
        try:
            report = rescrubber.run(
                received_after=since,
                received_before=until,
                start_cursor=options["start_cursor"],
                page_size=options["page_size"],
                progress=lambda report: self._progress(tenant_id, report),
                should_stop=lambda: self.shutdown,
            )
        except ValueError as exc:
            raise CommandError(f"--from: {exc}") from exc
        except StoreUnavailable as exc:
            raise CommandError(
                f"the log store became unavailable: {exc}. Run the same command again: "
                "what was re-scrubbed stays so, and nothing is written twice."
            ) from exc
        if not report.finished:
            raise CommandError(
                f"interrupted after {report.summary()}. Run it again to finish"
                + (f" (add --from {report.next_cursor} to skip what is done)" if report.next_cursor else "")
                + "."
            )
        return report

    def _progress(self, tenant_id: str, report: RescrubReport) -> None:
        line = f"rescrub {tenant_id}: page {report.pages}, {report.summary()}"
        if report.next_cursor:
            line += f"; go on with --from {report.next_cursor}"
        self.stdout.write(line)
        self.stdout.flush()

    def _stop(self, signum, frame) -> None:
        self.shutdown = True
