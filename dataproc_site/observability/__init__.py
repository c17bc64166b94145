"""Metrics, request ids and traces: what the on-call engineer reads at 3 a.m.

- ``context``: the request id and trace bound to the current request or message.
- ``metrics``: every Prometheus metric and the functions that record them.
- ``middleware``: one metrics update and one JSON log line per HTTP request.
- ``exposition`` / ``views``: what ``/metrics`` (and ``run_worker --metrics-port``) serve.

See docs/observability.md.
"""
