"""Group commit: concurrent single calls share batch calls, each caller gets its own answer."""

import threading
import time

import pytest

from dataproc_site.coalescing import Coalescer


class Unavailable(Exception):
    """Stands for an outage: belongs to the whole batch."""


class Recorder:
    """A batch call that doubles numbers, remembers its batches and can be slowed or broken."""

    def __init__(self, *, first_call_seconds: float = 0.0) -> None:
        self.batches: list[list[int]] = []
        self.first_call_seconds = first_call_seconds
        self.outage = False
        self.lock = threading.Lock()

    def __call__(self, items: list[int]) -> list[int]:
        with self.lock:
            self.batches.append(list(items))
            first = len(self.batches) == 1
        if first and self.first_call_seconds:
            time.sleep(self.first_call_seconds)  # the others queue up meanwhile
        if self.outage:
            raise Unavailable("down")
        if 13 in items:
            raise ValueError("13 is a bad item")
        return [item * 2 for item in items]


def call_concurrently(coalescer: Coalescer, items: list[int]) -> list:
    """One thread per item, started together; each result is the answer or the exception raised."""
    start = threading.Barrier(len(items))
    results: list = [None] * len(items)

    def call(index: int) -> None:
        start.wait()
        if index:
            time.sleep(0.02)  # the first caller leads; the others arrive while it runs
        try:
            results[index] = coalescer(items[index])
        except Exception as exc:
            results[index] = exc

    threads = [threading.Thread(target=call, args=(index,)) for index in range(len(items))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not any(thread.is_alive() for thread in threads), "a caller hung"
    return results


def test_a_lone_caller_gets_a_batch_of_its_own():
    recorder = Recorder()

    assert Coalescer(recorder)(21) == 42
    assert recorder.batches == [[21]]


def test_callers_arriving_during_a_batch_share_the_next_one_and_each_get_their_own_answer():
    recorder = Recorder(first_call_seconds=0.3)

    results = call_concurrently(Coalescer(recorder), list(range(10)))

    assert results == [item * 2 for item in range(10)]
    assert recorder.batches[0] == [0]
    assert sorted(item for batch in recorder.batches[1:] for item in batch) == list(range(1, 10))
    assert len(recorder.batches) < 10


def test_batches_never_exceed_max_batch():
    recorder = Recorder(first_call_seconds=0.3)

    results = call_concurrently(Coalescer(recorder, max_batch=3), list(range(10)))

    assert results == [item * 2 for item in range(10)]
    assert max(len(batch) for batch in recorder.batches) == 3


def test_a_shared_error_fails_every_caller_of_the_batch_and_those_queued_behind_it():
    recorder = Recorder(first_call_seconds=0.3)
    recorder.outage = True
    coalescer = Coalescer(recorder, shared_errors=(Unavailable,))

    results = call_concurrently(coalescer, list(range(8)))

    assert all(isinstance(result, Unavailable) for result in results)
    assert len(recorder.batches) == 1  # the queued callers were refused, not tried one by one
    recorder.outage = False
    assert coalescer(5) == 10  # and it works again once the outage is over


def test_an_item_error_is_isolated_so_the_rest_of_its_batch_succeeds():
    recorder = Recorder(first_call_seconds=0.3)

    results = call_concurrently(Coalescer(recorder, shared_errors=(Unavailable,)), [1, 2, 13, 4])

    assert results[:2] == [2, 4] and results[3] == 8
    assert isinstance(results[2], ValueError)
    assert [13] in recorder.batches  # the bad item was tried on its own


def test_a_batch_call_that_returns_nothing_gives_every_caller_none():
    batches = []

    assert Coalescer(batches.append)("ack") is None
    assert batches == [["ack"]]


def test_a_batch_call_with_the_wrong_number_of_results_is_an_error():
    with pytest.raises(RuntimeError, match="2 results for 1 items"):
        Coalescer(lambda items: [1, 2])("x")


def test_max_batch_must_be_positive():
    with pytest.raises(ValueError):
        Coalescer(list, max_batch=0)


class Overlap:
    """A slow batch call that counts how many of its calls ran at once."""

    def __init__(self) -> None:
        self.running = 0
        self.most_at_once = 0
        self.lock = threading.Lock()

    def __call__(self, items: list[int]) -> list[int]:
        with self.lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        time.sleep(0.05)
        with self.lock:
            self.running -= 1
        return [item * 2 for item in items]


@pytest.mark.parametrize("max_concurrent", [1, 3])
def test_at_most_max_concurrent_batch_calls_run_at_once_and_every_caller_is_answered(max_concurrent):
    overlap = Overlap()
    coalescer = Coalescer(overlap, max_batch=2, max_concurrent=max_concurrent)

    results = call_concurrently(coalescer, list(range(12)))

    assert results == [item * 2 for item in range(12)]
    assert overlap.most_at_once == max_concurrent
    assert coalescer._leaders == 0 and coalescer._waiting == []


def test_max_concurrent_must_be_positive():
    with pytest.raises(ValueError, match="max_concurrent"):
        Coalescer(lambda items: items, max_concurrent=0)
