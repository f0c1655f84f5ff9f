"""Batch functions of the catalogue, for ``info.context.loader(...)``: one ``= ANY($1)`` query for all the
codes a request asked for, values in key order (None for an unknown code).

Every domain whose rows name catalogue codes resolves them here (a capability's process, an RFQ line's
material …).
"""

from __future__ import annotations

from schema.batching import one_per_key
from server.catalogue import repo
from server.db import Pool


async def prefectures_by_code(pool: Pool, codes: list[str]) -> list[repo.Prefecture | None]:
    async with pool.acquire() as conn:
        rows = await repo.prefectures_by_codes(conn, codes=codes)
    return one_per_key(rows, codes, key=lambda row: row.code)


async def materials_by_code(pool: Pool, codes: list[str]) -> list[repo.Material | None]:
    async with pool.acquire() as conn:
        rows = await repo.materials_by_codes(conn, codes=codes)
    return one_per_key(rows, codes, key=lambda row: row.code)


async def processes_by_code(pool: Pool, codes: list[str]) -> list[repo.Process | None]:
    async with pool.acquire() as conn:
        rows = await repo.processes_by_codes(conn, codes=codes)
    return one_per_key(rows, codes, key=lambda row: row.code)
