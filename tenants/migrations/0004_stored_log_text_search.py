"""The console's text search on PostgreSQL: a trigram index over the redacted text.

``search_logs`` filters with ``UPPER(modified_data) LIKE UPPER('%text%')`` (Django's
``icontains``); a GIN index of ``pg_trgm`` trigrams on that very expression
answers it without reading every row of the tenant. PostgreSQL only: SQLite has
no such index and scans (which is fine at its scale). The index is built
CONCURRENTLY, so a deployment does not lock the log table while it is built; the
migration therefore runs outside a transaction.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEX_NAME = "stored_log_text_trgm"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model("tenants", "StoredLog")._meta.db_table)
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX_NAME} "
        f"ON {table} USING gin (UPPER(modified_data) gin_trgm_ops)"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX_NAME}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("tenants", "0003_rate_limit_in_logs"),
    ]

    operations = [
        TrigramExtension(),
        migrations.RunPython(create_index, drop_index, elidable=False),
    ]
