"""The worker subscription's backlog as Cloud Monitoring reports it: what intake's total cap uses on Pub/Sub.

Pub/Sub tells a publisher nothing about the subscription's backlog. Cloud
Monitoring samples ``pubsub.googleapis.com/subscription/num_undelivered_messages``
once a minute and shows it a minute or two late, so the figure is behind by that
much: a cap set from it is approximate, the alert on the same metric (Terraform)
fires from the same figure. Read over Monitoring's REST API with the process's
credentials (the API's service account has ``roles/monitoring.viewer``), at most
every ``PUBSUB_BACKLOG_CACHE_SECONDS`` per process, by one thread at a time, with
a short timeout; until a value arrives, when Monitoring cannot be read, and on
the emulator (no Monitoring there) the backlog is unknown (None) and the cap is
not enforced. No tenant's share of it is known anywhere.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

logger = logging.getLogger(__name__)

MONITORING_URL = "https://monitoring.googleapis.com/v3/projects/{project}/timeSeries"
METRIC_TYPE = "pubsub.googleapis.com/subscription/num_undelivered_messages"
READ_SCOPE = "https://www.googleapis.com/auth/monitoring.read"
READ_TIMEOUT_SECONDS = 2.0
# Samples come once a minute and late: look back far enough to find the newest.
LOOK_BACK = timedelta(minutes=10)


def _authorized_session():
    import google.auth
    from google.auth.transport.requests import AuthorizedSession

    credentials, _project = google.auth.default(scopes=[READ_SCOPE])
    return AuthorizedSession(credentials)


class SubscriptionBacklog:
    """``num_undelivered_messages`` of one subscription, cached; None while unknown."""

    def __init__(
        self,
        project: str,
        subscription_id: str,
        *,
        cache_seconds: float,
        session_factory: Callable[[], object] = _authorized_session,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.project = project
        self.subscription_id = subscription_id
        self.cache_seconds = cache_seconds
        self._session_factory = session_factory
        self._clock = clock
        self._lock = threading.Lock()
        self._value: int | None = None
        self._read_at: float | None = None
        self._session = None
        self._pid: int | None = None

    def value(self) -> int | None:
        """The newest figure, read again once it is ``cache_seconds`` old (by one thread; others use it)."""
        if os.environ.get("PUBSUB_EMULATOR_HOST"):
            return None
        now = self._clock()
        if self._read_at is not None and now - self._read_at < self.cache_seconds:
            return self._value
        if not self._lock.acquire(blocking=False):
            return self._value
        try:
            self._value = self._read()
        except Exception:
            logger.warning(
                "subscription backlog unreadable from Cloud Monitoring; the queue-depth cap waits for it",
                exc_info=True,
                extra={"subscription": self.subscription_id},
            )
            self._value = None
        finally:
            self._read_at = now
            self._lock.release()
        return self._value

    def _read(self) -> int | None:
        if self._session is None or self._pid != os.getpid():
            self._session = self._session_factory()
            self._pid = os.getpid()
        end = datetime.now(UTC)
        response = self._session.get(
            MONITORING_URL.format(project=self.project),
            params={
                "filter": (
                    f'metric.type = "{METRIC_TYPE}" AND resource.type = "pubsub_subscription" '
                    f'AND resource.labels.subscription_id = "{self.subscription_id}"'
                ),
                "interval.startTime": _rfc3339(end - LOOK_BACK),
                "interval.endTime": _rfc3339(end),
            },
            timeout=READ_TIMEOUT_SECONDS,
        )
        response.raise_for_status()
        series = response.json().get("timeSeries") or []
        points = [point for one in series for point in one.get("points", [])]
        if not points:
            return None  # no sample yet (a new subscription) or none in the window
        newest = max(points, key=lambda point: datetime.fromisoformat(point["interval"]["endTime"]))
        return int(newest["value"]["int64Value"])


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
