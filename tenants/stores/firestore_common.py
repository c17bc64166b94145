"""What the Firestore store's modules share: collection names, error mapping, timestamps."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

from google.api_core import exceptions as api_exceptions

from tenants.stores.base import StoreUnavailable

TENANTS = "tenants"
LOGS = "processed_logs"
COUNTERS = "counters"
ACTIVITY = "activity"
MAX_PAGE_SIZE = 500

# Lost races with another writer of the same record: read again and redo.
CONFLICTS = (api_exceptions.FailedPrecondition, api_exceptions.AlreadyExists, api_exceptions.Aborted)

P = ParamSpec("P")
R = TypeVar("R")


def unavailable_as_store_error(method: Callable[P, R]) -> Callable[P, R]:
    """Firestore errors become StoreUnavailable, except a request Firestore calls invalid.

    InvalidArgument (a document over Firestore's 1 MiB limit, say) is the log's
    own fault and propagates, so the worker counts it as a failed attempt.
    """

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except api_exceptions.InvalidArgument:
            raise
        except (api_exceptions.GoogleAPICallError, api_exceptions.RetryError) as exc:
            raise StoreUnavailable(f"Firestore unavailable: {exc}") from exc

    return wrapper


def plain_datetime(value: Any) -> datetime | None:
    """Firestore's timestamp (DatetimeWithNanoseconds) as a plain aware UTC datetime."""
    if value is None:
        return None
    moment = value.astimezone(UTC)
    return datetime(
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        moment.microsecond,
        tzinfo=UTC,
    )


def minute_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)
