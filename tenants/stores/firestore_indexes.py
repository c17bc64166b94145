"""Every Firestore index the store's queries need beyond the automatic ones.

The emulator serves any query without indexes; production Firestore refuses a
query whose index is missing (FAILED_PRECONDITION). So the queries in
``tenants.stores.firestore`` and this list change together, and the Terraform
configuration is tested to declare each entry (``google_firestore_index`` for a
composite index, ``google_firestore_field`` for a single-field override).

Queries the automatic single-field indexes already serve (collection scope):
``processed_logs`` ordered by ``received_at`` desc, ``__name__`` desc, with or
without a range on ``received_at``; one tenant's ``activity`` with a range on
``minute``; listing ``tenants`` and reading counter documents by id; one
tenant's ``processed_logs`` counted per ``status`` (``recount``).

``expires_at`` is the TTL field: its indexes are exempted (Terraform), so no query
may filter or order on it, and nothing here may name it (a test checks both).
"""

from __future__ import annotations

from dataclasses import dataclass

ASCENDING = "ASCENDING"
DESCENDING = "DESCENDING"
COLLECTION = "COLLECTION"
COLLECTION_GROUP = "COLLECTION_GROUP"


@dataclass(frozen=True)
class IndexField:
    field_path: str
    order: str


@dataclass(frozen=True)
class CompositeIndex:
    collection_group: str
    query_scope: str
    fields: tuple[IndexField, ...]
    used_by: str


@dataclass(frozen=True)
class SingleFieldIndex:
    """A single-field index Firestore does not create by itself (collection-group scope)."""

    collection_group: str
    field_path: str
    query_scope: str
    order: str
    used_by: str


COMPOSITE_INDEXES: list[CompositeIndex] = [
    CompositeIndex(
        collection_group="processed_logs",
        query_scope=COLLECTION,
        fields=(
            IndexField("status", ASCENDING),
            IndexField("received_at", DESCENDING),
            IndexField("__name__", DESCENDING),
        ),
        used_by="FirestoreLogStore.list_logs with a status filter (and optionally a received_at range)",
    ),
]

SINGLE_FIELD_INDEXES: list[SingleFieldIndex] = [
    SingleFieldIndex(
        collection_group="activity",
        field_path="minute",
        query_scope=COLLECTION_GROUP,
        order=ASCENDING,
        used_by="FirestoreLogStore.activity for every tenant (a collection-group range on minute)",
    ),
    SingleFieldIndex(
        collection_group="processed_logs",
        field_path="original_text_expires_at",
        query_scope=COLLECTION_GROUP,
        order=ASCENDING,
        used_by="FirestoreLogStore.clear_expired_original_text (every tenant: a collection-group range)",
    ),
]
