"""New ``StoredLog`` rows in one prepared ``executemany``: the worker's commonest write.

Most logs are stored once, by their first attempt, in a batch of a claim's worth
of results (``processing.batches``). ``bulk_create`` spent several times longer
preparing those rows (a compiler pass and a ``get_db_prep_save`` per field of every
row) than the database took to insert them; here each column's adaptation is
looked up once per connection and applied directly, as the ORM would apply it
(datetimes by the backend's own adapter, JSON by the field's own encoder).
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import connections
from django.utils import timezone

from tenants.models import StoredLog

# Every column of a new row, in the statement's order (``id`` is the database's).
INSERTED_FIELDS = tuple(field.name for field in StoredLog._meta.concrete_fields if not field.primary_key)

Adapter = Callable[[object], object] | None


def _adapters(connection) -> list[Adapter]:
    """How each of ``INSERTED_FIELDS`` becomes a parameter on ``connection`` (None: as it is)."""
    adapters: list[Adapter] = []
    for name in INSERTED_FIELDS:
        field = StoredLog._meta.get_field(name)
        kind = field.get_internal_type()
        if kind == "DateTimeField":
            adapters.append(connection.ops.adapt_datetimefield_value)
        elif kind == "JSONField":
            adapters.append(lambda value, field=field: field.get_db_prep_save(value, connection))
        elif kind in ("CharField", "TextField", "PositiveIntegerField"):
            adapters.append(None)
        else:  # a field type added later: the ORM's own preparation, whatever it is
            adapters.append(lambda value, field=field: field.get_db_prep_save(value, connection))
    return adapters


def _statement(connection) -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(StoredLog._meta.get_field(name).column) for name in INSERTED_FIELDS)
    placeholders = ", ".join(["%s"] * len(INSERTED_FIELDS))
    # The model's own table and columns; every value is bound.
    return f"INSERT INTO {quote(StoredLog._meta.db_table)} ({columns}) VALUES ({placeholders})"  # noqa: S608


def insert_new_rows(using: str, rows: list[dict]) -> None:
    """Insert ``rows`` (each a value for every field but ``updated_at`` and ``id``), in the caller's transaction.

    ``updated_at`` is set to now, as ``auto_now`` does. Raises ``IntegrityError`` when
    any row exists already (the unique ``(tenant_id, log_id)``), like ``bulk_create``.
    """
    connection = connections[using]
    adapters = _adapters(connection)
    now = timezone.now()
    params = []
    for row in rows:
        values = {**row, "updated_at": now}
        params.append(
            [
                values[name] if adapt is None else adapt(values[name])
                for name, adapt in zip(INSERTED_FIELDS, adapters, strict=True)
            ]
        )
    with connection.cursor() as cursor:
        cursor.executemany(_statement(connection), params)
