"""Which rows a database-queue claim takes: the tenants with messages waiting take turns.

Fair across tenants (docs/processing.md, "Noisy neighbours"): each claim walks the
tenants that have ready rows (one index seek each, however long each backlog), gives
each an equal share of the claim (its oldest rows), the rest to those with more, and
the next claim starts after the last tenant served.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from processing.models import QueueMessage
from processing.queues.turns import interleave

# One claim takes turns among at most this many tenants (an index seek each, and on
# PostgreSQL a locking select each); the tenants after them come first in the next claim.
MAX_TENANTS_PER_CLAIM = 32


# What a claim reads of each candidate row, in this order.
CLAIM_COLUMNS = (
    "id",
    "message_id",
    "payload",
    "tenant_id",
    "available_at",
    "lease_token",
    "delivery_attempts",
    "published_at",
)


@dataclass(slots=True)
class ClaimRow:
    """A claimable row as a claim reads it: plain values, not a model instance.

    Building ``QueueMessage`` instances (a converter per column, a model
    ``__init__`` per row) cost a claim more than its statements. ``message_id`` is
    the canonical text form; ``lease_token`` is the column's raw value (only
    whether it is set matters: a row claimed before whose lease ran out).
    """

    id: int
    message_id: str
    payload: str
    tenant_id: str
    available_at: datetime
    lease_token: object
    delivery_attempts: int
    published_at: datetime


def _claim_row(values: tuple, zone) -> ClaimRow:
    row_id, message_id, payload, tenant_id, available_at, lease_token, attempts, published_at = values
    return ClaimRow(
        row_id,
        _canonical_uuid(message_id),
        payload,
        tenant_id,
        _aware(available_at, zone),
        lease_token,
        attempts,
        _aware(published_at, zone),
    )


def _canonical_uuid(value) -> str:
    """The dashed text form of a UUID column's value (native on PostgreSQL, 32 hex digits on SQLite)."""
    if isinstance(value, str) and len(value) == 32:
        return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"
    return str(value)


def _aware(value, zone) -> datetime:
    """A datetime column's value as the ORM would give it (SQLite stores text in the connection's ``zone``)."""
    if not isinstance(value, datetime):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)  # as django.utils.timezone.make_aware does
    return value


def _select(where: str, *, lock: bool = False) -> str:
    """The candidate columns of rows matching ``where``, oldest first (``LIMIT %s`` bound last)."""
    table = connection.ops.quote_name(QueueMessage._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(name) for name in CLAIM_COLUMNS)
    sql = (
        f"SELECT {columns} FROM {table} WHERE {where} "  # noqa: S608 (the model's own table; values are bound)
        "ORDER BY available_at, id LIMIT %s"
    )
    return sql + " FOR UPDATE SKIP LOCKED" if lock else sql


def _fetch(sql: str, params: list) -> list[ClaimRow]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        zone = connection.timezone
        return [_claim_row(values, zone) for values in cursor.fetchall()]


def claim_candidates(
    now: datetime, max_messages: int, *, after: str | None
) -> tuple[list[ClaimRow], str | None]:
    """Up to ``max_messages`` claimable rows, the tenants taking turns (``processing.queues.turns``).

    The tenants with messages waiting are found by walking the tenant index (one
    seek per tenant, however long each one's backlog); each gets an equal share of
    the claim, its oldest claimable rows, and what tenants with fewer waiting leave
    over goes to those with more.
    """
    limit = min(max_messages, MAX_TENANTS_PER_CLAIM)
    tenant_ids = tenants_waiting(after=after, limit=limit)
    if not tenant_ids:
        return [], after
    share = math.ceil(max_messages / len(tenant_ids))
    picked = oldest_of_each(now, dict.fromkeys(tenant_ids, share))
    room = max_messages - sum(len(rows) for rows in picked.values())
    hungry = [tenant_id for tenant_id in tenant_ids if len(picked[tenant_id]) == share]
    if room > 0 and hungry:
        more = oldest_of_each(now, dict.fromkeys(hungry, share + math.ceil(room / len(hungry))))
        for tenant_id, rows in more.items():
            seen = {row.id for row in picked[tenant_id]}
            picked[tenant_id] += [row for row in rows if row.id not in seen]
    rows = interleave([picked[tenant_id] for tenant_id in tenant_ids], max_messages)
    walked_all = len(tenant_ids) < limit
    # The next claim starts after the last tenant served here (after the first one
    # when every tenant had its turn, so the first place rotates too).
    turn_after = tenant_ids[0] if walked_all else tenant_ids[-1]
    if len(rows) < max_messages and not walked_all:
        # More tenants wait than one claim takes turns among: the rest of the
        # claim goes to the oldest claimable rows, whoever they belong to.
        rows += oldest_claimable(now, max_messages - len(rows), exclude={row.id for row in rows})
    return rows, turn_after


def oldest_of_each(now: datetime, counts: dict[str, int]) -> dict[str, list[ClaimRow]]:
    """Each tenant's oldest claimable rows, up to its count, oldest first.

    PostgreSQL: one ``FOR UPDATE SKIP LOCKED`` select per tenant, so concurrent
    claimers take disjoint rows. SQLite (one writer at a time, nothing to lock):
    one statement for every tenant, which costs a claim less than a query each.
    """
    if connection.features.has_select_for_update_skip_locked:
        return {
            tenant_id: oldest_claimable(now, count, tenant_id=tenant_id)
            for tenant_id, count in counts.items()
        }
    columns = ", ".join(connection.ops.quote_name(name) for name in CLAIM_COLUMNS)
    one_tenant = f"SELECT {columns} FROM ({_select('state = %s AND tenant_id = %s AND available_at <= %s')})"  # noqa: S608 (as above)
    due = connection.ops.adapt_datetimefield_value(now)
    params: list = []
    for tenant_id, count in counts.items():
        params += [QueueMessage.STATE_READY, tenant_id, due, count]
    shares: dict[str, list[ClaimRow]] = {tenant_id: [] for tenant_id in counts}
    for row in _fetch(" UNION ALL ".join([one_tenant] * len(counts)), params):
        shares[row.tenant_id].append(row)
    for rows in shares.values():
        rows.sort(key=lambda row: (row.available_at, row.id))
    return shares


def oldest_claimable(
    now: datetime, count: int, *, tenant_id: str | None = None, exclude: set[int] | None = None
) -> list[ClaimRow]:
    """The oldest claimable rows (of one tenant, or anyone's but ``exclude``), locked where the database can."""
    conditions = ["state = %s", "available_at <= %s"]
    params: list = [QueueMessage.STATE_READY, connection.ops.adapt_datetimefield_value(now)]
    if tenant_id is not None:
        conditions.append("tenant_id = %s")
        params.append(tenant_id)
    if exclude:
        conditions.append(f"id NOT IN ({', '.join(['%s'] * len(exclude))})")
        params += sorted(exclude)
    lock = connection.features.has_select_for_update_skip_locked
    return _fetch(_select(" AND ".join(conditions), lock=lock), [*params, count])


def tenants_waiting(*, after: str | None, limit: int) -> list[str]:
    """Up to ``limit`` tenants with ready rows, in id order from the first after ``after``, wrapping."""
    tenant_ids = walk_tenants(after, limit)
    if after is not None and len(tenant_ids) < limit:
        # From the start again, up to the first one already taken (in the database's
        # own collation, which need not be Python's string order).
        taken = set(tenant_ids)
        for tenant_id in walk_tenants(None, limit - len(tenant_ids)):
            if tenant_id in taken:
                break
            tenant_ids.append(tenant_id)
    return tenant_ids


def walk_tenants(after: str | None, limit: int) -> list[str]:
    """The next ``limit`` distinct tenant ids of ready rows after ``after``, one index seek each.

    A loose index scan written as a recursive query: ``SELECT DISTINCT`` would read
    every row of every backlog, this reads one index entry per tenant.
    """
    table = connection.ops.quote_name(QueueMessage._meta.db_table)

    def next_tenant(condition: str) -> str:
        # Cast alike in both terms: PostgreSQL wants one type for a recursive column.
        return (
            f"CAST((SELECT tenant_id FROM {table} WHERE state = %s {condition} "  # noqa: S608 (the model's own table; values are bound)
            "ORDER BY tenant_id LIMIT 1) AS VARCHAR(128))"
        )

    first = next_tenant("AND tenant_id > %s" if after is not None else "")
    following = next_tenant("AND tenant_id > walk.tenant_id")
    sql = (
        f"WITH RECURSIVE walk(tenant_id, step) AS (SELECT {first}, 1"  # noqa: S608 (as above)
        f" UNION ALL SELECT {following}, walk.step + 1"
        " FROM walk WHERE walk.tenant_id IS NOT NULL AND walk.step < %s)"
        " SELECT tenant_id FROM walk WHERE tenant_id IS NOT NULL"
    )
    state = QueueMessage.STATE_READY
    params = [state, after, state, limit] if after is not None else [state, state, limit]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [tenant_id for (tenant_id,) in cursor.fetchall()]
