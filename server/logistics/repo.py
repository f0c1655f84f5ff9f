"""SQL for prefectural capitals and coordinators' transport overrides."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from server.db import Connection
from server.logistics.transport import Capital


@dataclass(frozen=True)
class TransportOverride:
    from_prefecture: str
    to_prefecture: str
    days: int
    cost_jpy: int
    set_by_user_id: UUID
    set_at: dt.datetime


async def capitals(conn: Connection, *, prefectures: Sequence[str]) -> list[Capital]:
    rows = await conn.fetch(
        """
        SELECT prefecture, latitude, longitude FROM prefecture_capitals
        WHERE prefecture = ANY($1::text[]) ORDER BY prefecture
        """,
        list(prefectures),
    )
    return [Capital(r["prefecture"], r["latitude"], r["longitude"]) for r in rows]


async def overrides(conn: Connection, *, prefectures: Sequence[str]) -> list[TransportOverride]:
    """The overrides between any two of ``prefectures``."""
    rows = await conn.fetch(
        """
        SELECT from_prefecture, to_prefecture, days, cost_jpy, set_by_user_id, set_at FROM transport_overrides
        WHERE from_prefecture = ANY($1::text[]) AND to_prefecture = ANY($1::text[])
        """,
        list(prefectures),
    )
    return [TransportOverride(**dict(r)) for r in rows]


async def set_override(
    conn: Connection,
    *,
    from_prefecture: str,
    to_prefecture: str,
    days: int,
    cost_jpy: int,
    set_by_user_id: UUID,
    set_at: dt.datetime,
) -> None:
    """Write the override of one unordered pair (stored with the lower code first)."""
    low, high = sorted((from_prefecture, to_prefecture))
    await conn.execute(
        """
        INSERT INTO transport_overrides
            (from_prefecture, to_prefecture, days, cost_jpy, set_by_user_id, set_at)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (from_prefecture, to_prefecture) DO UPDATE SET
            days = EXCLUDED.days, cost_jpy = EXCLUDED.cost_jpy,
            set_by_user_id = EXCLUDED.set_by_user_id, set_at = EXCLUDED.set_at
        """,
        low,
        high,
        days,
        cost_jpy,
        set_by_user_id,
        set_at,
    )


async def clear_override(conn: Connection, *, from_prefecture: str, to_prefecture: str) -> bool:
    low, high = sorted((from_prefecture, to_prefecture))
    status: str = await conn.execute(
        "DELETE FROM transport_overrides WHERE from_prefecture = $1 AND to_prefecture = $2", low, high
    )
    return status.endswith(" 1")
