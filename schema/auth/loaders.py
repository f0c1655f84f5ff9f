"""Batch functions of the auth domain, for ``info.context.loader(...)``: one ``= ANY($1)`` query per batch.

They read without checking visibility: a field reaches them only from a parent the caller may see.
"""

from __future__ import annotations

from uuid import UUID

from server.auth import repo
from server.db import Pool


async def users_by_id(pool: Pool, ids: list[UUID]) -> list[repo.User | None]:
    async with pool.acquire() as conn:
        rows = {r.id: r for r in await repo.users_by_ids(conn, ids=ids)}
    return [rows.get(i) for i in ids]


async def buyers_by_id(pool: Pool, ids: list[UUID]) -> list[repo.Buyer | None]:
    async with pool.acquire() as conn:
        rows = {r.id: r for r in await repo.buyers_by_ids(conn, ids=ids)}
    return [rows.get(i) for i in ids]


__all__ = ["buyers_by_id", "users_by_id"]
