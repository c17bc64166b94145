"""The retention sweep, every so often, beside the worker (``run_worker`` on the embedded setup).

``manage.py expire_logs`` is the same sweep once; in production Cloud Scheduler runs
that hourly, so this runs only where ``EXPIRE_LOGS_INTERVAL_SECONDS`` is set (by
default on the embedded setup). One daemon thread: a sweep right away, then one
every interval until the worker stops. A failing sweep (the store down) is logged
and tried again at the next interval; it never touches the worker's own work.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.db import connections

from tenants.lifecycle import SweepReport, sweep
from tenants.stores import get_store

logger = logging.getLogger(__name__)


class PeriodicSweep:
    """Sweeps every ``interval_seconds`` until ``stop`` is set; ``report`` hears of each sweep."""

    def __init__(
        self,
        interval_seconds: float,
        stop: threading.Event,
        *,
        report: Callable[[SweepReport], None] | None = None,
        sweep_once: Callable[[], SweepReport] | None = None,
    ) -> None:
        if interval_seconds <= 0:
            raise ValueError("the sweep interval must be positive")
        self.interval_seconds = interval_seconds
        self.stop = stop
        self.report = report or (lambda swept: None)
        self.sweep_once = sweep_once or (lambda: sweep(get_store()))
        self.sweeps = 0
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="retention-sweep", daemon=True)
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def run_once(self) -> SweepReport | None:
        try:
            swept = self.sweep_once()
        except Exception:
            logger.exception("retention sweep failed; trying again at the next interval")
            return None
        finally:
            # This thread's own database connection: not kept idle for an hour.
            connections.close_all()
        self.sweeps += 1
        self.report(swept)
        return swept

    def _loop(self) -> None:
        while not self.stop.is_set():
            self.run_once()
            if self.stop.wait(self.interval_seconds):
                return
