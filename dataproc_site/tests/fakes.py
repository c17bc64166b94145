"""Queue backends with fixed stats, to see what a scrape makes of them."""

from processing.queues.base import BaseQueue, QueueStats, QueueUnavailable


class BusyQueue(BaseQueue):
    def stats(self) -> QueueStats:
        return QueueStats(depth=42, oldest_age_seconds=12.5, dead_lettered=3)


class SilentQueue(BaseQueue):
    """Like Pub/Sub: the subscriber cannot tell its backlog."""


class BrokenQueue(BaseQueue):
    def stats(self) -> QueueStats:
        raise QueueUnavailable("broker down")
