"""Group commit: many threads' single calls served by one batch call.

The worker handles up to ``--concurrency`` logs at once on threads, and the API
serves requests on threads; each needs a few small writes (insert a result, delete
a queue row, commit a Firestore document). One transaction or round trip per call
makes the database's write lock (SQLite) or the network (Firestore) the limit, and
on SQLite the callers queue in its sleeping busy handler. A ``Coalescer`` lets the
first caller run the batch call for everything waiting at that moment, while later
callers queue on a Python lock and are served by the next batch.

Nothing waits on purpose (no linger timer): a lone caller's batch is just its own
item, so the latency of a quiet service is unchanged, and batches grow exactly as
fast as callers pile up behind a running one. Each call still returns only once
its own item is done, with its own result or error.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

DEFAULT_MAX_BATCH = 100


class _Pending(Generic[Item, Result]):
    __slots__ = ("done", "error", "item", "leads", "result", "wakeup")

    def __init__(self, item: Item) -> None:
        self.item = item
        self.done = False
        self.leads = False
        self.result: Result | None = None
        self.error: BaseException | None = None
        # Held until this caller may go on; released once. A bare lock, not an Event:
        # an Event (a Condition written in Python) cost a sixth of the worker's CPU.
        self.wakeup = threading.Lock()
        self.wakeup.acquire()


class Coalescer(Generic[Item, Result]):
    """Calls ``call_batch(items) -> results`` (one per item, in order, or None) for concurrent callers.

    One caller at a time leads: it runs the batch call for everything waiting,
    wakes each caller of that batch with its result, and hands the lead to the
    oldest caller still waiting, which then does the same. Callers wait on their
    own event rather than on a shared lock, so a finished batch's callers all go
    on at once instead of taking a lock one after another.

    ``max_concurrent`` batch calls may run at once (1: one at a time): a remote
    store (Firestore) takes several commits in parallel faster than one after
    another, a database with one writer (SQLite) does not.

    ``shared_errors`` are errors that belong to the whole batch (the database or
    the broker is away): every caller in it gets the error, and so do the callers
    queued behind it, so an outage is refused within one timeout instead of one
    timeout per caller in turn. Any other error is taken to be one item's fault: the
    items of that batch are then tried one by one, so one bad item cannot fail the
    others.
    """

    def __init__(
        self,
        call_batch: Callable[[list[Item]], Sequence[Result] | None],
        *,
        shared_errors: tuple[type[BaseException], ...] = (),
        max_batch: int = DEFAULT_MAX_BATCH,
        max_concurrent: int = 1,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        self.call_batch = call_batch
        self.shared_errors = shared_errors
        self.max_batch = max_batch
        self.max_concurrent = max_concurrent
        self._lock = threading.Lock()
        # Callers waiting for a batch (a leader's, or the lead); callers that lead are not in it.
        self._waiting: list[_Pending[Item, Result]] = []
        self._leaders = 0

    def __call__(self, item: Item) -> Result:
        pending: _Pending[Item, Result] = _Pending(item)
        with self._lock:
            if self._leaders < self.max_concurrent:
                self._leaders += 1
                pending.leads = True  # leads at once, out of the waiting list
            else:
                self._waiting.append(pending)
        if not pending.leads:
            pending.wakeup.acquire()
        if not pending.done:  # leading: its own item first, then those waiting longest
            try:
                with self._lock:
                    batch = [pending, *self._waiting[: self.max_batch - 1]]
                    del self._waiting[: self.max_batch - 1]
                self._run(batch)
            finally:
                self._hand_over_the_lead()
        if pending.error is not None:
            raise pending.error
        return pending.result  # type: ignore[return-value]

    def _hand_over_the_lead(self) -> None:
        with self._lock:
            if self._waiting:
                # Out of the list at once, so no other leader puts it in a batch meanwhile.
                successor = self._waiting.pop(0)
                successor.leads = True
                successor.wakeup.release()
            else:
                self._leaders -= 1

    def _run(self, batch: list[_Pending[Item, Result]]) -> None:
        try:
            results = self.call_batch([pending.item for pending in batch])
            if results is None:  # a batch call with nothing to return (acks)
                results = [None] * len(batch)
            if len(results) != len(batch):
                raise RuntimeError(f"batch call returned {len(results)} results for {len(batch)} items")
        except self.shared_errors as exc:
            with self._lock:
                batch += self._waiting
                self._waiting = []
            for pending in batch:
                pending.error = exc
        except Exception as exc:
            if len(batch) == 1:
                batch[0].error = exc
            else:
                for pending in batch:
                    self._run([pending])
        except BaseException as exc:  # KeyboardInterrupt, SystemExit: nobody gets a result
            for pending in batch:
                pending.error = exc
            raise
        else:
            for pending, result in zip(batch, results, strict=True):
                pending.result = result
        finally:
            for pending in batch:
                if not pending.done:  # (items retried one by one are done already)
                    pending.done = True
                    if not pending.leads:
                        pending.wakeup.release()
