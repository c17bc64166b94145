"""The intake's format layer: request bodies in, validated records out.

Pure functions, no queue, database or auth: each step of ``POST /ingest`` and
``POST /v1/logs`` that depends only on the bytes a client sent lives here, so
every malformed input has a cheap, exact test.

- ``compression``: Content-Encoding (gzip, deflate, zstd), streamed and bounded.
- ``batch``: a decoded ``/ingest`` body (one JSON object, a JSON array, NDJSON) into records.
- ``fields``: one log object with shippers' field names into one normalised record.
- ``otlp``: OTLP/HTTP ``ExportLogsServiceRequest`` in, ``ExportLogsServiceResponse`` and
  ``google.rpc.Status`` out.
- ``records``: what they all produce (``IntakeRecord``, ``RecordError``, ``ParsedBatch``).
- ``limits``: the bounds they enforce, read from settings.

Errors about the whole body are the API's own ``ApiError`` subclasses (status, code,
detail); errors about one record of a batch are ``RecordError`` values, so the valid
records of the batch can still be queued.
"""
