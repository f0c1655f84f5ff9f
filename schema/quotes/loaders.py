"""Batch functions behind the quote relation fields (lines, the exchange rate used, the RFQ's lines).

They read without checking visibility: a field reaches them only from a quote the caller may see.
"""

from __future__ import annotations

from uuid import UUID

from schema.batching import many_per_key
from server.db import Pool
from server.quotes import repo


async def lines_by_quote_id(pool: Pool, quote_ids: list[UUID]) -> list[list[repo.QuoteLine]]:
    async with pool.acquire() as conn:
        rows = await repo.lines_by_quote_ids(conn, quote_ids=quote_ids)
    return many_per_key(rows, quote_ids, key=lambda row: row.quote_id)


async def rates_by_id(pool: Pool, ids: list[int]) -> list[repo.ExchangeRate | None]:
    async with pool.acquire() as conn:
        rows = {r.id: r for r in await repo.rates_by_ids(conn, ids=ids)}
    return [rows.get(i) for i in ids]
