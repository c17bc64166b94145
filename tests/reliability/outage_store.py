"""A database log store that fails like an unreachable database while a switch file exists.

For the store-outage test on the database backends, where the queue and the
store share one database and so cannot really fail apart: the worker process
runs with ``LOG_STORE_BACKEND`` pointing here and ``STORE_OUTAGE_SWITCH`` naming
a file the test creates and removes. While it exists, every store call raises
Django's ``OperationalError`` from inside the real ``DatabaseLogStore`` methods,
so their own handling (``StoreUnavailable``, closing the broken connection)
is what the worker sees; the queue is untouched.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.db import OperationalError

from tenants.stores.database import DatabaseLogStore


class SwitchableOutageStore(DatabaseLogStore):
    def _objects(self):
        _fail_while_switched_on()
        return super()._objects()

    def _insert_new_rows(self, rows: list[dict]) -> None:
        _fail_while_switched_on()
        super()._insert_new_rows(rows)


def _fail_while_switched_on() -> None:
    switch = os.environ.get("STORE_OUTAGE_SWITCH", "")
    if switch and Path(switch).exists():
        raise OperationalError("could not connect to server: Connection refused (test outage)")
