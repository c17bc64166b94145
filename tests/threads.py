"""Start test code on several threads at once, the way concurrent workers or requests would."""

from __future__ import annotations

import threading

from django.db import connections


def in_threads(count: int, target) -> list:
    """Run ``target(index)`` on ``count`` threads started together; return results in order."""
    results: list = [None] * count
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = target(index)
        except BaseException as exc:
            errors.append(exc)
        finally:
            # Threads get their own database connections; leave none open behind.
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a call hung"
    if errors:
        raise errors[0]
    return results
