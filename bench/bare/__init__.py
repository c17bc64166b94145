"""The ceilings: a minimal Django project (``rest_framework`` only, no middleware, no database).

It answers what the service's intake could reach at best on this machine, under
the same gunicorn configuration (``gunicorn.conf.py``, worker class included):

- ``POST /bench/ceiling``: parses the same JSON body as a single log to
  ``/ingest`` and answers 202 (the no-middleware ceiling);
- ``POST /bench/durable-batch``: parses an NDJSON body line by line, checks each
  record's fields and inserts every record into a SQLite queue table in one
  transaction (WAL, ``synchronous=NORMAL``), then answers 202 (the durable batch
  ceiling: the least any durable embedded batch intake must do).

Nothing of the service is imported, so nothing of its cost is measured.
"""
