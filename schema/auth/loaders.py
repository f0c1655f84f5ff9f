"""Batch functions of the auth domain, for ``info.context.loader(...)``: one ``= ANY($1)`` query per batch.

They read without checking visibility: a field reaches them only from a parent the caller may see.
"""

from __future__ import annotations

from uuid import UUID

from schema.batching import one_per_key
from server.auth import repo
from server.db import Pool


async def users_by_id(pool: Pool, ids: list[UUID]) -> list[repo.User | None]:
    async with pool.acquire() as conn:
        rows = await repo.users_by_ids(conn, ids=ids)
    return one_per_key(rows, ids, key=lambda row: row.id)


async def buyers_by_id(pool: Pool, ids: list[UUID]) -> list[repo.Buyer | None]:
    async with pool.acquire() as conn:
        rows = await repo.buyers_by_ids(conn, ids=ids)
    return one_per_key(rows, ids, key=lambda row: row.id)


__all__ = ["buyers_by_id", "users_by_id"]
