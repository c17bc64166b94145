"""Tenants take turns: the order in which the embedded queues hand out claimable messages.

A claim serves the tenants that have messages waiting in turn, one message each
per round, oldest first within a tenant, starting after the tenant the previous
claim ended with. So one tenant's backlog, however long, holds another tenant's
new message back by at most one round of a claim, and tenants with backlogs
share the worker evenly (round robin, every tenant weighing the same).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

Item = TypeVar("Item")


def interleave(per_tenant: Iterable[Sequence[Item]], limit: int) -> list[Item]:
    """Round-robin over the tenants' lists (first of each, then second of each...), at most ``limit``."""
    lists = [items for items in per_tenant if items]
    taken: list[Item] = []
    depth = 0
    while lists and len(taken) < limit:
        for items in lists:
            if depth < len(items):
                taken.append(items[depth])
                if len(taken) == limit:
                    return taken
        depth += 1
        lists = [items for items in lists if depth < len(items)]
    return taken


def starting_after(tenant_ids: Sequence[str], cursor: str | None) -> list[str]:
    """``tenant_ids`` (sorted) rotated to begin with the first one after ``cursor``."""
    if cursor is None:
        return list(tenant_ids)
    later = [tenant_id for tenant_id in tenant_ids if tenant_id > cursor]
    return later + [tenant_id for tenant_id in tenant_ids if tenant_id <= cursor]
