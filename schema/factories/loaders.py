"""Batch functions of the factories domain, for ``info.context.loader(...)``.

Each runs one ``= ANY($1)`` query for all the keys a request asked for and returns the values in key order.
Other domains may use them too (e.g. ``factories_by_id`` for a bid's factory); catalogue entries come from
the request's in-memory taxonomy (``info.context.taxonomy``, :mod:`server.catalogue.taxonomy`).
"""

from __future__ import annotations

import datetime as dt
from uuid import UUID

from schema.batching import many_per_key, one_per_key
from server.db import Pool
from server.factories import repo


async def factories_by_id(pool: Pool, ids: list[UUID]) -> list[repo.Factory | None]:
    async with pool.acquire() as conn:
        rows = await repo.factories_by_ids(conn, ids=ids)
    return one_per_key(rows, ids, key=lambda row: row.id)


async def capabilities_by_factory(pool: Pool, factory_ids: list[UUID]) -> list[list[repo.Capability]]:
    async with pool.acquire() as conn:
        rows = await repo.capabilities_by_factory_ids(conn, factory_ids=factory_ids)
    return many_per_key(rows, factory_ids, key=lambda row: row.factory_id)


async def capability_listings_by_factory(
    pool: Pool, factory_ids: list[UUID]
) -> list[list[repo.CapabilityListing]]:
    """The capabilities as the registry shows them (``Factory.capabilities``)."""
    async with pool.acquire() as conn:
        rows = await repo.capability_listings_by_factory_ids(conn, factory_ids=factory_ids)
    return many_per_key(rows, factory_ids, key=lambda row: row.factory_id)


async def certifications_by_factory(
    pool: Pool, factory_ids: list[UUID]
) -> list[list[repo.FactoryCertification]]:
    async with pool.acquire() as conn:
        rows = await repo.certifications_by_factory_ids(conn, factory_ids=factory_ids)
    return many_per_key(rows, factory_ids, key=lambda row: row.factory_id)


async def capacity_overrides_by_range(
    pool: Pool, ranges: list[tuple[UUID, dt.date, dt.date]]
) -> list[list[repo.CapacityOverride]]:
    """Keys are (factory id, first Monday, Monday after the last week)."""
    async with pool.acquire() as conn:
        rows = await repo.capacity_overrides(conn, ranges=ranges)
    return [
        [o for o in rows if o.factory_id == factory_id and week_from <= o.week_start < week_to]
        for factory_id, week_from, week_to in ranges
    ]


async def capacity_bookings_by_range(
    pool: Pool, ranges: list[tuple[UUID, dt.date, dt.date]]
) -> list[list[repo.CapacityBooking]]:
    """Hours booked by awards; keys are (factory id, first Monday, Monday after the last week)."""
    async with pool.acquire() as conn:
        rows = await repo.capacity_bookings(conn, ranges=ranges)
    return [
        [b for b in rows if b.factory_id == factory_id and week_from <= b.week_start < week_to]
        for factory_id, week_from, week_to in ranges
    ]
