"""Batch functions behind the RFQ relation fields: one ``= ANY($1)`` query per relation and request.

They read without checking visibility: they are reached only from a parent the caller was allowed to see.
An operation's process goes through ``schema.factories.loaders.processes_by_code``.
"""

from __future__ import annotations

from collections import defaultdict
from uuid import UUID

from server.db import Pool
from server.rfqs import repo, service


async def lines_by_rfq_id(pool: Pool, rfq_ids: list[UUID]) -> list[list[repo.RfqLine]]:
    grouped: dict[UUID, list[repo.RfqLine]] = defaultdict(list)
    for line in await service.lines_by_rfq_ids(pool, rfq_ids):
        grouped[line.rfq_id].append(line)
    return [grouped.get(i, []) for i in rfq_ids]


async def operations_by_line_id(pool: Pool, line_ids: list[UUID]) -> list[list[repo.RfqOperation]]:
    grouped: dict[UUID, list[repo.RfqOperation]] = defaultdict(list)
    for op in await service.operations_by_line_ids(pool, line_ids):
        grouped[op.rfq_line_id].append(op)
    return [grouped.get(i, []) for i in line_ids]
