"""Batch functions behind the solve job relation fields: one ``= ANY($1)`` query per relation and request.

They read without checking visibility: they are reached only from a job the caller was allowed to see.
"""

from __future__ import annotations

from collections import defaultdict
from uuid import UUID

from server.db import Pool
from server.jobs import repo


async def solutions_by_job_id(pool: Pool, job_ids: list[UUID]) -> list[list[repo.StoredSolution]]:
    grouped: dict[UUID, list[repo.StoredSolution]] = defaultdict(list)
    async with pool.acquire() as conn:
        for row in await repo.solutions_by_job_ids(conn, job_ids=job_ids):
            grouped[row.job_id].append(row)
    return [grouped.get(i, []) for i in job_ids]
