"""SQL for partnerships between factories (the "weak ties" the solver rewards)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from server.db import Connection


@dataclass(frozen=True)
class Partnership:
    id: UUID
    factory_id: UUID
    partner_factory_id: UUID
    note: str
    declared_by_user_id: UUID
    declared_at: dt.datetime
    confirmed_at: dt.datetime | None
    ended_at: dt.datetime | None


@dataclass(frozen=True)
class CollaborationWeight:
    """How strongly two factories are tied: the number of live confirmed partnerships between any factory of
    the one's owner and any factory of the other's, plus the number of awards the two factories worked on
    together (live bookings of both under one award: a cancelled award, whose bookings were released, does
    not count). Weak ties grow with each joint project."""

    factory_a: UUID
    factory_b: UUID
    weight: int


_COLUMNS = (
    "id, factory_id, partner_factory_id, note, declared_by_user_id, declared_at, confirmed_at, ended_at"
)


async def declare(
    conn: Connection,
    *,
    factory_id: UUID,
    partner_factory_id: UUID,
    note: str,
    user_id: UUID,
    now: dt.datetime,
) -> Partnership | None:
    """A new declared partnership; None when the pair already has a live one (the unique index decides)."""
    row = await conn.fetchrow(
        f"""
        INSERT INTO factory_partnerships
            (factory_id, partner_factory_id, note, declared_by_user_id, declared_at)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT DO NOTHING
        RETURNING {_COLUMNS}
        """,
        factory_id,
        partner_factory_id,
        note,
        user_id,
        now,
    )
    return Partnership(**dict(row)) if row else None


async def partnership_for_update(conn: Connection, *, partnership_id: UUID) -> Partnership | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM factory_partnerships WHERE id = $1 FOR UPDATE", partnership_id
    )
    return Partnership(**dict(row)) if row else None


async def confirm(conn: Connection, *, partnership_id: UUID, now: dt.datetime) -> Partnership:
    row = await conn.fetchrow(
        f"UPDATE factory_partnerships SET confirmed_at = $2 WHERE id = $1 RETURNING {_COLUMNS}",
        partnership_id,
        now,
    )
    assert row is not None
    return Partnership(**dict(row))


async def end(conn: Connection, *, partnership_id: UUID, now: dt.datetime) -> Partnership:
    row = await conn.fetchrow(
        f"UPDATE factory_partnerships SET ended_at = $2 WHERE id = $1 RETURNING {_COLUMNS}",
        partnership_id,
        now,
    )
    assert row is not None
    return Partnership(**dict(row))


async def of_factory(conn: Connection, *, factory_id: UUID) -> list[Partnership]:
    """A factory's live partnerships, declared or confirmed, on either side; oldest first."""
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM factory_partnerships
        WHERE (factory_id = $1 OR partner_factory_id = $1) AND ended_at IS NULL
        ORDER BY declared_at, id
        """,
        factory_id,
    )
    return [Partnership(**dict(r)) for r in rows]


async def collaboration_weights(
    conn: Connection, *, factory_ids: Sequence[UUID]
) -> list[CollaborationWeight]:
    """The tie of every pair among ``factory_ids`` that has one (``factory_a < factory_b``): owner-level
    partnerships plus joint awards."""
    rows = await conn.fetch(
        """
        WITH ties AS (
            SELECT least(fa.owner_user_id, fb.owner_user_id) AS owner_low,
                   greatest(fa.owner_user_id, fb.owner_user_id) AS owner_high,
                   count(*) AS n
            FROM factory_partnerships p
            JOIN factories fa ON fa.id = p.factory_id
            JOIN factories fb ON fb.id = p.partner_factory_id
            WHERE p.confirmed_at IS NOT NULL AND p.ended_at IS NULL
            GROUP BY 1, 2
        ),
        partnered AS (
            SELECT f1.id AS factory_a, f2.id AS factory_b, t.n
            FROM factories f1
            JOIN factories f2 ON f1.id < f2.id
            JOIN ties t ON t.owner_low = least(f1.owner_user_id, f2.owner_user_id)
                       AND t.owner_high = greatest(f1.owner_user_id, f2.owner_user_id)
            WHERE f1.id = ANY($1::uuid[]) AND f2.id = ANY($1::uuid[])
        ),
        members AS (
            SELECT DISTINCT quote_id, factory_id FROM capacity_bookings
            WHERE released_at IS NULL AND factory_id = ANY($1::uuid[])
        ),
        awarded AS (
            SELECT m1.factory_id AS factory_a, m2.factory_id AS factory_b, count(*) AS n
            FROM members m1 JOIN members m2 ON m1.quote_id = m2.quote_id AND m1.factory_id < m2.factory_id
            GROUP BY 1, 2
        )
        SELECT factory_a, factory_b, sum(n)::integer AS weight
        FROM (SELECT * FROM partnered UNION ALL SELECT * FROM awarded) AS both_kinds
        GROUP BY factory_a, factory_b
        ORDER BY 1, 2
        """,
        list(factory_ids),
    )
    return [CollaborationWeight(**dict(r)) for r in rows]
