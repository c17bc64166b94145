"""``python manage.py run_worker``: take logs off the queue, process them, store the results.

The loop itself is a consumer (``processing.consumers``: the pull loop, or
streaming pull on Pub/Sub): ``--concurrency`` logs worked on at once, leases
renewed while a message is worked on, up to its work deadline. Each message goes
through ``processing.worker.process_message`` (decide, ack/nack/dead-letter, one
log line). SIGTERM and SIGINT only set the stop event; the consumer then stops
pulling, gives back what it had not started, and lets in-flight messages finish
within ``WORKER_SHUTDOWN_GRACE_SECONDS``. ``--drain`` exits 0 once the queue is
empty, and 1 with the reason once only messages that keep failing are left.

Beside the consumer, the retention sweep (``manage.py expire_logs``) runs at start and
every ``EXPIRE_LOGS_INTERVAL_SECONDS`` (``processing.sweeper``; by default only on the
embedded setup, where no scheduler does it; never with ``--drain``).

Sizing: the specified workload is 1,000 requests a minute of ~100-character logs
at 0.05 s per character, i.e. ~5 s each and ~85 in flight; the default
concurrency of 100 keeps up with it in one process (the threads mostly sleep).
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections import Counter

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from processing.batches import groupable, process_batch
from processing.consumers import DrainStuck, Grouping, consume
from processing.metrics_server import DEFAULT_HOST as DEFAULT_METRICS_HOST
from processing.metrics_server import start_metrics_server
from processing.queues import get_queue
from processing.queues.base import ReceivedMessage
from processing.sweeper import PeriodicSweep
from processing.worker import expire_message, process_message

DEFAULT_CONCURRENCY = 100
DEFAULT_DRAIN_IDLE_SECONDS = 2.0


class Command(BaseCommand):
    help = "Process queued logs: pull, redact, store; retry with backoff, dead-letter after max attempts."

    def add_arguments(self, parser):
        parser.add_argument(
            "--concurrency",
            type=int,
            default=DEFAULT_CONCURRENCY,
            help=f"Logs worked on at once (threads; on Pub/Sub as many again store results). "
            f"Default {DEFAULT_CONCURRENCY}.",
        )
        parser.add_argument(
            "--lease-seconds",
            type=float,
            default=None,
            help="Lease (ack deadline) per message, renewed while it is worked on. "
            "Default WORKER_LEASE_SECONDS.",
        )
        parser.add_argument(
            "--drain",
            action="store_true",
            help="Exit 0 once nothing is in flight and the queue has stayed empty (scripts and tests); "
            "exit 1 once only messages that keep failing are left.",
        )
        parser.add_argument(
            "--drain-idle-seconds",
            type=float,
            default=DEFAULT_DRAIN_IDLE_SECONDS,
            help=f"With --drain: how long the queue must stay empty. Default {DEFAULT_DRAIN_IDLE_SECONDS}.",
        )
        parser.add_argument(
            "--metrics-port",
            type=int,
            default=None,
            help="Serve Prometheus metrics on this port (docs/observability.md). Default: off.",
        )
        parser.add_argument(
            "--metrics-host",
            default=DEFAULT_METRICS_HOST,
            help=f"Address the metrics port binds. Default {DEFAULT_METRICS_HOST} (this host only).",
        )

    def handle(self, *args, **options):
        concurrency = options["concurrency"]
        lease_seconds = options["lease_seconds"] or settings.WORKER_LEASE_SECONDS
        if concurrency < 1:
            raise CommandError("--concurrency must be at least 1.")
        if lease_seconds <= 0:
            raise CommandError("--lease-seconds must be positive.")
        metrics_server = None
        if options["metrics_port"] is not None:
            try:
                metrics_server = start_metrics_server(options["metrics_port"], host=options["metrics_host"])
            except OSError as exc:
                raise CommandError(f"--metrics-port {options['metrics_port']}: {exc}") from exc

        self.shutdown = threading.Event()
        self.outcomes: Counter[str] = Counter()
        self._outcomes_lock = threading.Lock()
        self.queue = get_queue()
        previous_handlers = self._install_signal_handlers()

        sweeper = self._start_sweeper(drain=options["drain"])
        started = time.monotonic()
        stop_reason = "signal"
        self._progress(
            "worker started",
            backend=type(self.queue).__name__,
            concurrency=concurrency,
            lease_seconds=lease_seconds,
            drain=options["drain"],
            delay_per_char=settings.PROCESSING_DELAY_PER_CHAR,
            metrics_url=metrics_server.url if metrics_server else None,
            expire_logs_every_seconds=sweeper.interval_seconds if sweeper else None,
        )
        try:
            consume(
                self.queue,
                self.process_one,
                concurrency=concurrency,
                lease_seconds=lease_seconds,
                stop_event=self.shutdown,
                idle_exit_seconds=options["drain_idle_seconds"] if options["drain"] else None,
                expire=self.expire_one,
                grouping=Grouping(handle=self.process_group, groupable=groupable),
            )
            if not self.shutdown.is_set():
                stop_reason = "drained"
        except DrainStuck as stuck:
            stop_reason = "stuck"
            raise CommandError(f"--drain gave up: {stuck}") from None
        finally:
            with self._outcomes_lock:
                outcomes = dict(self.outcomes)
            self._progress(
                "worker stopped",
                reason=stop_reason,
                outcomes=outcomes,
                uptime_seconds=round(time.monotonic() - started, 1),
            )
            self._restore_signal_handlers(previous_handlers)
            if metrics_server is not None:
                metrics_server.stop()
            if sweeper is not None:
                self.shutdown.set()  # the sweeper waits on it between sweeps
                sweeper.join(timeout=5)

    def _start_sweeper(self, *, drain: bool) -> PeriodicSweep | None:
        """The periodic retention sweep, unless it is off (setting 0) or this is a --drain run."""
        interval = settings.EXPIRE_LOGS_INTERVAL_SECONDS
        if drain or interval <= 0:
            return None
        sweeper = PeriodicSweep(interval, self.shutdown, report=self._report_sweep)
        sweeper.start()
        return sweeper

    def _report_sweep(self, swept) -> None:
        self._progress(
            "retention sweep",
            deleted=swept.deleted,
            cleared_original_text=swept.cleared,
            recounted_tenants=len(swept.recounted),
        )

    def process_one(self, message: ReceivedMessage) -> str:
        """Handle one pulled message (the consumer calls this on a handler thread)."""
        outcome = process_message(self.queue, message)
        with self._outcomes_lock:
            self.outcomes[outcome.action] += 1
        return outcome.action

    def process_group(self, messages: list[ReceivedMessage]) -> list[str]:
        """Handle several quick messages of one pull together (``processing.batches``)."""
        actions = [outcome.action for outcome in process_batch(self.queue, messages)]
        with self._outcomes_lock:
            self.outcomes.update(actions)
        return actions

    def expire_one(self, message: ReceivedMessage, ran_seconds: float) -> None:
        """A message past its work deadline (the consumer calls this once per such message)."""
        outcome = expire_message(self.queue, message, ran_seconds)
        with self._outcomes_lock:
            self.outcomes["expired"] += 1
            self.outcomes[outcome.action] += 1

    def _install_signal_handlers(self) -> dict:
        """Route SIGTERM/SIGINT to the stop event; return the handlers to restore."""
        if threading.current_thread() is not threading.main_thread():
            return {}  # only the main thread may set handlers (call_command from a test thread)
        return {signum: signal.signal(signum, self._on_signal) for signum in (signal.SIGTERM, signal.SIGINT)}

    @staticmethod
    def _restore_signal_handlers(previous: dict) -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    def _on_signal(self, signum, frame) -> None:
        # Only flag it: the consumer notices within a fraction of a second.
        self.shutdown.set()

    def _progress(self, event: str, **fields) -> None:
        self.stdout.write(json.dumps({"event": event, **fields}, default=str))
