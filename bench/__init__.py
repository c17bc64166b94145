"""The benchmark harness behind ``make bench`` and ``make bench-quick`` (see bench/README.md).

Nothing here is imported by the service: the harness starts the service's own
processes (gunicorn, ``run_worker``, the emulators) on 127.0.0.1 and measures them
from outside, over HTTP and through the backends' public contracts.
"""
