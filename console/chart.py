"""The overview's "received and processed per minute" chart, as geometry for a server-side SVG.

No JavaScript and no CDN: the numbers become coordinates here and
``console/_activity_chart.html`` draws them with the admin's CSS variables, so
the chart follows the light and dark themes like the rest of the page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from tenants.stores import ActivityBucket

WIDTH = 720
HEIGHT = 240
MARGIN_LEFT = 48
MARGIN_RIGHT = 16
MARGIN_TOP = 16
MARGIN_BOTTOM = 40
PLOT_WIDTH = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
PLOT_HEIGHT = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
BAR_FILL_RATIO = 0.7
X_LABEL_EVERY_MINUTES = 10


@dataclass(frozen=True)
class ChartMinute:
    minute: datetime
    received: int
    processed: int
    bar_x: float
    bar_y: float
    bar_height: float
    line_x: float
    line_y: float


@dataclass(frozen=True)
class AxisTick:
    label: str
    position: float


@dataclass(frozen=True)
class ActivityChart:
    minutes: list[ChartMinute]
    y_ticks: list[AxisTick]
    x_ticks: list[AxisTick]
    bar_width: float
    processed_points: str
    total_received: int
    total_processed: int
    peak_received: int
    peak_processed: int
    first_minute: datetime
    last_minute: datetime
    width: int = WIDTH
    height: int = HEIGHT
    plot_left: int = MARGIN_LEFT
    plot_right: int = WIDTH - MARGIN_RIGHT
    plot_top: int = MARGIN_TOP
    plot_bottom: int = MARGIN_TOP + PLOT_HEIGHT

    @property
    def is_empty(self) -> bool:
        return self.total_received == 0 and self.total_processed == 0

    @property
    def active_minutes(self) -> list[ChartMinute]:
        """Minutes with any activity, for the chart's data table."""
        return [minute for minute in self.minutes if minute.received or minute.processed]

    @property
    def description(self) -> str:
        span = f"from {self.first_minute:%H:%M} to {self.last_minute:%H:%M} UTC"
        if self.is_empty:
            return f"No logs were received or processed {span}."
        return (
            f"Logs received (bars) and processed (line) per minute {span}: "
            f"{self.total_received} received, at most {self.peak_received} in one minute; "
            f"{self.total_processed} processed, at most {self.peak_processed} in one minute."
        )


def nice_step(peak: int, ticks: int = 4) -> int:
    """A round step (1, 2 or 5 times a power of ten) giving about ``ticks`` gridlines up to ``peak``."""
    raw = max(peak, 1) / ticks
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= raw:
            return max(1, int(factor * magnitude))
    return int(10 * magnitude)  # unreachable: factor 10 always qualifies


def window_start(now: datetime, minutes: int) -> datetime:
    """The first minute a chart of ``minutes`` minutes ending at ``now`` shows."""
    return now.replace(second=0, microsecond=0) - timedelta(minutes=minutes - 1)


def build_activity_chart(buckets: list[ActivityBucket], *, now: datetime, minutes: int = 60) -> ActivityChart:
    """Chart the ``minutes`` minutes up to and including the one ``now`` falls in.

    Stores leave out minutes without activity; those are drawn as zero.
    """
    first_minute = window_start(now, minutes)
    last_minute = first_minute + timedelta(minutes=minutes - 1)
    by_minute = {bucket.minute.replace(second=0, microsecond=0): bucket for bucket in buckets}
    counts = []
    for index in range(minutes):
        minute = first_minute + timedelta(minutes=index)
        bucket = by_minute.get(minute)
        counts.append((minute, bucket.received if bucket else 0, bucket.processed if bucket else 0))

    peak_received = max((received for _, received, _ in counts), default=0)
    peak_processed = max((processed for _, _, processed in counts), default=0)
    step = nice_step(max(peak_received, peak_processed))
    y_max = step * max(1, math.ceil(max(peak_received, peak_processed) / step))

    def y_of(value: int) -> float:
        return round(MARGIN_TOP + PLOT_HEIGHT * (1 - value / y_max), 1)

    slot = PLOT_WIDTH / minutes
    bar_width = round(slot * BAR_FILL_RATIO, 2)
    chart_minutes = []
    for index, (minute, received, processed) in enumerate(counts):
        slot_left = MARGIN_LEFT + index * slot
        chart_minutes.append(
            ChartMinute(
                minute=minute,
                received=received,
                processed=processed,
                bar_x=round(slot_left + (slot - bar_width) / 2, 2),
                bar_y=y_of(received),
                bar_height=round(PLOT_HEIGHT * received / y_max, 1),
                line_x=round(slot_left + slot / 2, 2),
                line_y=y_of(processed),
            )
        )

    y_ticks = [AxisTick(label=str(value), position=y_of(value)) for value in range(0, y_max + 1, step)]
    x_ticks = [
        AxisTick(label=f"{chart_minute.minute:%H:%M}", position=chart_minute.line_x)
        for index, chart_minute in enumerate(chart_minutes)
        if (minutes - 1 - index) % X_LABEL_EVERY_MINUTES == 0
    ]
    return ActivityChart(
        minutes=chart_minutes,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        bar_width=bar_width,
        processed_points=" ".join(f"{m.line_x},{m.line_y}" for m in chart_minutes),
        total_received=sum(received for _, received, _ in counts),
        total_processed=sum(processed for _, _, processed in counts),
        peak_received=peak_received,
        peak_processed=peak_processed,
        first_minute=first_minute,
        last_minute=last_minute,
    )
