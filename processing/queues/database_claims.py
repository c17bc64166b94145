"""Which rows a database-queue claim takes: the tenants with messages waiting take turns.

Fair across tenants (docs/processing.md, "Noisy neighbours"): each claim walks the
tenants that have ready rows (one index seek each, however long each backlog), gives
each an equal share of the claim (its oldest rows), the rest to those with more, and
the next claim starts after the last tenant served.
"""

from __future__ import annotations

import math
from datetime import datetime

from django.db import connection

from processing.models import QueueMessage
from processing.queues.turns import interleave

# One claim takes turns among at most this many tenants (an index seek each, and on
# PostgreSQL a locking select each); the tenants after them come first in the next claim.
MAX_TENANTS_PER_CLAIM = 32


def claim_candidates(
    now: datetime, max_messages: int, *, after: str | None
) -> tuple[list[QueueMessage], str | None]:
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


def oldest_of_each(now: datetime, counts: dict[str, int]) -> dict[str, list[QueueMessage]]:
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
    table = connection.ops.quote_name(QueueMessage._meta.db_table)
    one_tenant = (
        f"SELECT * FROM (SELECT * FROM {table} WHERE state = %s AND tenant_id = %s "  # noqa: S608 (the model's own table; values are bound)
        "AND available_at <= %s ORDER BY available_at, id LIMIT %s)"
    )
    due = connection.ops.adapt_datetimefield_value(now)
    params: list = []
    for tenant_id, count in counts.items():
        params += [QueueMessage.STATE_READY, tenant_id, due, count]
    shares: dict[str, list[QueueMessage]] = {tenant_id: [] for tenant_id in counts}
    for row in QueueMessage.objects.raw(" UNION ALL ".join([one_tenant] * len(counts)), params):
        shares[row.tenant_id].append(row)
    for rows in shares.values():
        rows.sort(key=lambda row: (row.available_at, row.id))
    return shares


def oldest_claimable(
    now: datetime, count: int, *, tenant_id: str | None = None, exclude: set[int] | None = None
) -> list[QueueMessage]:
    rows = QueueMessage.objects.filter(state=QueueMessage.STATE_READY, available_at__lte=now)
    if tenant_id is not None:
        rows = rows.filter(tenant_id=tenant_id)
    if exclude:
        rows = rows.exclude(id__in=exclude)
    rows = rows.order_by("available_at", "id")
    if connection.features.has_select_for_update_skip_locked:
        rows = rows.select_for_update(skip_locked=True)
    return list(rows[:count])


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
