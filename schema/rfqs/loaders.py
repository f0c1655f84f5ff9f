"""Batch functions behind the RFQ relation fields: one ``= ANY($1)`` query per relation and request.

They read without checking visibility: they are reached only from a parent the caller was allowed to see.
An operation's process comes from the request's in-memory taxonomy (``info.context.taxonomy``).
"""

from __future__ import annotations

from collections import defaultdict
from uuid import UUID

from schema.batching import many_per_key
from server.db import Pool
from server.rfqs import repo
from server.rfqs.events import RfqEvent
from server.rfqs.rules import EventScope


async def lines_by_rfq_id(pool: Pool, rfq_ids: list[UUID]) -> list[list[repo.RfqLine]]:
    async with pool.acquire() as conn:
        rows = await repo.lines_by_rfq_ids(conn, rfq_ids=rfq_ids)
    return many_per_key(rows, rfq_ids, key=lambda row: row.rfq_id)


async def operations_by_line_id(pool: Pool, line_ids: list[UUID]) -> list[list[repo.RfqOperation]]:
    async with pool.acquire() as conn:
        rows = await repo.operations_by_line_ids(conn, line_ids=line_ids)
    return many_per_key(rows, line_ids, key=lambda row: row.rfq_line_id)


async def events_by_rfq_id(pool: Pool, keys: list[tuple[UUID, EventScope]]) -> list[list[RfqEvent]]:
    """Keys are (RFQ id, the caller's event scope for it)."""
    grouped: dict[tuple[UUID, EventScope], list[RfqEvent]] = defaultdict(list)
    scopes: dict[EventScope, list[UUID]] = defaultdict(list)
    for rfq_id, scope in keys:
        scopes[scope].append(rfq_id)
    async with pool.acquire() as conn:
        for scope, rfq_ids in scopes.items():
            for event in await repo.events_by_rfq_ids(conn, rfq_ids=rfq_ids, scope=scope):
                grouped[event.rfq_id, scope].append(event)
    return [grouped.get(k, []) for k in keys]
