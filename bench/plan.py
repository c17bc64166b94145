"""How long each measurement runs: ``make bench`` (issue 8's figures) and ``make bench-quick``."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

TENANTS = 20
# The specified workload (issue 8, section 4).
WORKLOAD_RATE_PER_MINUTE = 1000
WORKLOAD_DELAY_PER_CHAR = 0.05
WORKLOAD_MIN_CHARS = 40
WORKLOAD_MAX_CHARS = 120


@dataclass(frozen=True)
class Plan:
    name: str
    closed_seconds: float
    warmup_seconds: float
    open_seconds: float
    drain_logs: int
    raw_pull_logs: int
    workload_seconds: float
    # A drain slower than drain_logs / drain_cap_seconds is stopped there and
    # reported (incomplete) at the rate it reached: the run stays bounded.
    drain_cap_seconds: float
    # Quick runs start the emulators while the first embedded rows run.
    overlap_emulator_start: bool = False
    connections: tuple[int, ...] = (16, 64)
    drain_concurrency: tuple[int, ...] = (1, 4, 16)
    open_rates_per_minute: tuple[int, ...] = (1000, 60000)
    e2e_worker_concurrency: int = 4

    def to_dict(self) -> dict:
        return asdict(self)


FULL = Plan(
    name="full",
    closed_seconds=15,
    warmup_seconds=1,
    open_seconds=60,
    drain_logs=20000,
    raw_pull_logs=20000,
    workload_seconds=300,
    drain_cap_seconds=15,
)
QUICK = Plan(
    name="quick",
    closed_seconds=2,
    warmup_seconds=1,
    open_seconds=6,
    drain_logs=1000,
    raw_pull_logs=4000,
    workload_seconds=30,
    drain_cap_seconds=10,
    overlap_emulator_start=True,
)


def workload_concurrency() -> tuple[float, int]:
    """Logs in processing at once on average (Little's law), and the concurrency to run with.

    Square-root staffing (``L + 3 * sqrt(L)``) keeps the chance that a log waits
    for a free thread small, so end-to-end time stays processing time plus
    little more.
    """
    mean_seconds = (WORKLOAD_MIN_CHARS + WORKLOAD_MAX_CHARS) / 2 * WORKLOAD_DELAY_PER_CHAR
    in_processing = WORKLOAD_RATE_PER_MINUTE / 60 * mean_seconds
    return in_processing, math.ceil(in_processing + 3 * math.sqrt(in_processing))
