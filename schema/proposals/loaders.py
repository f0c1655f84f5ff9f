"""Batch functions of proposals, for ``info.context.loader(...)``."""

from __future__ import annotations

from uuid import UUID

from schema.batching import many_per_key
from server.db import Pool
from server.proposals import repo


async def assignments_by_proposal_id(pool: Pool, proposal_ids: list[UUID]) -> list[list[repo.Assignment]]:
    async with pool.acquire() as conn:
        rows = await repo.assignments_of(conn, proposal_ids=proposal_ids)
    return many_per_key(rows, proposal_ids, key=lambda row: row.proposal_id)
