"""SQL for exchange rates, shipping days, quotes and capacity bookings (migrations 0011 and 0012)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from server.db import Connection

# --- exchange rates ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExchangeRate:
    id: int
    currency: str
    jpy_per_unit: Decimal
    set_on: dt.date
    set_at: dt.datetime
    set_by_user_id: UUID | None


_RATE_COLUMNS = "id, currency, jpy_per_unit, set_on, set_at, set_by_user_id"


async def insert_rate(
    conn: Connection,
    *,
    currency: str,
    jpy_per_unit: Decimal,
    set_on: dt.date,
    set_at: dt.datetime,
    user_id: UUID | None,
) -> ExchangeRate:
    row = await conn.fetchrow(
        f"""
        INSERT INTO exchange_rates (currency, jpy_per_unit, set_on, set_at, set_by_user_id)
        VALUES ($1, $2, $3, $4, $5) RETURNING {_RATE_COLUMNS}
        """,
        currency,
        jpy_per_unit,
        set_on,
        set_at,
        user_id,
    )
    assert row is not None
    return ExchangeRate(**dict(row))


async def current_rate(conn: Connection, *, currency: str) -> ExchangeRate | None:
    """The newest rate of ``currency`` (the last one set applies)."""
    row = await conn.fetchrow(
        f"""
        SELECT {_RATE_COLUMNS} FROM exchange_rates WHERE currency = $1
        ORDER BY set_at DESC, id DESC LIMIT 1
        """,
        currency,
    )
    return ExchangeRate(**dict(row)) if row else None


async def rate_history(conn: Connection, *, currency: str | None, limit: int) -> list[ExchangeRate]:
    """Rates newest first, of one currency or of all."""
    rows = await conn.fetch(
        f"""
        SELECT {_RATE_COLUMNS} FROM exchange_rates WHERE $1::text IS NULL OR currency = $1
        ORDER BY set_at DESC, id DESC LIMIT $2
        """,
        currency,
        limit,
    )
    return [ExchangeRate(**dict(r)) for r in rows]


async def rates_by_ids(conn: Connection, *, ids: Sequence[int]) -> list[ExchangeRate]:
    rows = await conn.fetch(f"SELECT {_RATE_COLUMNS} FROM exchange_rates WHERE id = ANY($1::bigint[])", ids)
    return [ExchangeRate(**dict(r)) for r in rows]


# --- shipping days -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShippingDays:
    incoterm: str
    destination: str  # a country, or '*' for any other
    days: int
    basis: str


async def shipping_days(conn: Connection, *, incoterm: str, country: str) -> ShippingDays | None:
    """The row for ``country``, else the rule's row for any other country."""
    row = await conn.fetchrow(
        """
        SELECT incoterm, destination, days, basis FROM shipping_days
        WHERE incoterm = $1 AND destination IN ($2, '*')
        ORDER BY destination = '*' LIMIT 1
        """,
        incoterm,
        country,
    )
    return ShippingDays(**dict(row)) if row else None


async def shipping_table(conn: Connection) -> list[ShippingDays]:
    rows = await conn.fetch(
        "SELECT incoterm, destination, days, basis FROM shipping_days "
        "ORDER BY incoterm, destination = '*', destination"
    )
    return [ShippingDays(**dict(r)) for r in rows]


# --- the consortium's agreed shares ------------------------------------------------------------------------


@dataclass(frozen=True)
class InvitationState:
    id: UUID
    factory_id: UUID
    status: str


async def price_confirmation_required(conn: Connection, *, proposal_id: UUID) -> bool:
    value: bool = await conn.fetchval(
        "SELECT price_confirmation_required FROM proposals WHERE id = $1", proposal_id
    )
    return value


async def invitations_of(conn: Connection, *, proposal_id: UUID) -> list[InvitationState]:
    rows = await conn.fetch(
        "SELECT id, factory_id, status FROM invitations WHERE proposal_id = $1 ORDER BY factory_id",
        proposal_id,
    )
    return [InvitationState(**dict(r)) for r in rows]


@dataclass(frozen=True)
class Share:
    """One accepted invitation line, with its package's RFQ line and process."""

    factory_id: UUID
    package_id: UUID
    line_id: UUID
    process_code: str
    quantity: int
    agreed_unit_price_jpy: int
    setup_cost_jpy: int
    end_date: dt.date
    weekly_hours: list[dict[str, Any]]


async def accepted_shares(conn: Connection, *, proposal_id: UUID) -> list[Share]:
    rows = await conn.fetch(
        """
        SELECT i.factory_id, il.package_id, p.rfq_line_id AS line_id, o.process_code, il.quantity,
               il.agreed_unit_price_jpy, il.setup_cost_jpy, il.end_date, il.weekly_hours
        FROM invitations i
        JOIN invitation_lines il ON il.invitation_id = i.id
        JOIN rfq_packages p ON p.id = il.package_id
        JOIN rfq_operations o ON o.rfq_line_id = p.rfq_line_id AND o.position = p.operation_position
        WHERE i.proposal_id = $1 AND i.status = 'accepted'
        ORDER BY i.factory_id, il.package_id
        """,
        proposal_id,
    )
    return [Share(**dict(r)) for r in rows]


@dataclass(frozen=True)
class MemberFacts:
    """What the buyer may learn of a member: where it is and what it is certified for."""

    factory_id: UUID
    area: str  # its cluster, or else its city
    prefecture: str  # English name
    certifications: list[str]  # codes valid on the day asked


async def member_facts(conn: Connection, *, factory_ids: Sequence[UUID], on: dt.date) -> list[MemberFacts]:
    rows = await conn.fetch(
        """
        SELECT f.id AS factory_id, coalesce(f.cluster, f.city) AS area, p.name_en AS prefecture,
               coalesce(array_agg(c.certification_code ORDER BY c.certification_code)
                        FILTER (WHERE c.certification_code IS NOT NULL), '{}') AS certifications
        FROM factories f
        JOIN prefectures p ON p.code = f.prefecture
        LEFT JOIN factory_certifications c ON c.factory_id = f.id AND c.valid_until >= $2
        WHERE f.id = ANY($1::uuid[])
        GROUP BY f.id, f.cluster, f.city, p.name_en
        """,
        list(factory_ids),
        on,
    )
    return [MemberFacts(**dict(r)) for r in rows]


# --- quotes ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quote:
    id: UUID
    rfq_id: UUID
    proposal_id: UUID
    status: str
    currency: str
    cost_jpy: int
    margin_pct: Decimal
    exchange_rate_id: int | None
    jpy_per_unit: Decimal
    total_amount: Decimal
    completion_date: dt.date
    shipping_days: int
    delivery_date: dt.date
    valid_until: dt.date
    consortium: dict[str, Any]
    issued_by_user_id: UUID | None
    issued_at: dt.datetime
    answered_at: dt.datetime | None
    decline_reason: str
    accept_idempotency_key: str | None


@dataclass(frozen=True)
class QuoteLine:
    quote_id: UUID
    rfq_line_id: UUID
    quantity: int
    unit_price: Decimal


_QUOTE_COLUMNS = """
    id, rfq_id, proposal_id, status, currency, cost_jpy, margin_pct, exchange_rate_id, jpy_per_unit,
    total_amount, completion_date, shipping_days, delivery_date, valid_until, consortium, issued_by_user_id,
    issued_at, answered_at, decline_reason, accept_idempotency_key
"""


def _quote(row: Any) -> Quote:
    return Quote(**dict(row))


@dataclass(frozen=True)
class NewQuote:
    rfq_id: UUID
    proposal_id: UUID
    currency: str
    cost_jpy: int
    margin_pct: Decimal
    exchange_rate_id: int | None
    jpy_per_unit: Decimal
    total_amount: Decimal
    completion_date: dt.date
    shipping_days: int
    delivery_date: dt.date
    valid_until: dt.date
    consortium: dict[str, Any]
    issued_by_user_id: UUID | None
    issued_at: dt.datetime


async def insert_quote(
    conn: Connection, *, quote: NewQuote, lines: Sequence[tuple[UUID, int, Decimal]]
) -> Quote:
    """The quote and its lines ``(rfq line, quantity, unit price)``: two statements."""
    row = await conn.fetchrow(
        f"""
        INSERT INTO quotes (rfq_id, proposal_id, currency, cost_jpy, margin_pct, exchange_rate_id,
                            jpy_per_unit, total_amount, completion_date, shipping_days, delivery_date,
                            valid_until, consortium, issued_by_user_id, issued_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
        RETURNING {_QUOTE_COLUMNS}
        """,
        quote.rfq_id,
        quote.proposal_id,
        quote.currency,
        quote.cost_jpy,
        quote.margin_pct,
        quote.exchange_rate_id,
        quote.jpy_per_unit,
        quote.total_amount,
        quote.completion_date,
        quote.shipping_days,
        quote.delivery_date,
        quote.valid_until,
        quote.consortium,
        quote.issued_by_user_id,
        quote.issued_at,
    )
    assert row is not None
    stored = _quote(row)
    await conn.execute(
        """
        INSERT INTO quote_lines (quote_id, rfq_line_id, quantity, unit_price)
        SELECT $1, l, q, u FROM unnest($2::uuid[], $3::int[], $4::numeric[]) AS t(l, q, u)
        """,
        stored.id,
        [line for line, _, _ in lines],
        [quantity for _, quantity, _ in lines],
        [price for _, _, price in lines],
    )
    return stored


async def quote_by_id(conn: Connection, *, quote_id: UUID, for_update: bool = False) -> Quote | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(f"SELECT {_QUOTE_COLUMNS} FROM quotes WHERE id = $1{lock}", quote_id)
    return _quote(row) if row else None


async def quotes_by_rfq_ids(conn: Connection, *, rfq_ids: Sequence[UUID]) -> list[Quote]:
    rows = await conn.fetch(
        f"SELECT {_QUOTE_COLUMNS} FROM quotes WHERE rfq_id = ANY($1::uuid[]) "
        "ORDER BY rfq_id, issued_at DESC, id",
        list(rfq_ids),
    )
    return [_quote(r) for r in rows]


async def live_quote_of_rfq(conn: Connection, *, rfq_id: UUID) -> Quote | None:
    row = await conn.fetchrow(
        f"SELECT {_QUOTE_COLUMNS} FROM quotes "
        "WHERE rfq_id = $1 AND status IN ('issued', 'accepted') FOR UPDATE",
        rfq_id,
    )
    return _quote(row) if row else None


async def lines_by_quote_ids(conn: Connection, *, quote_ids: Sequence[UUID]) -> list[QuoteLine]:
    rows = await conn.fetch(
        """
        SELECT q.quote_id, q.rfq_line_id, q.quantity, q.unit_price
        FROM quote_lines q JOIN rfq_lines l ON l.id = q.rfq_line_id
        WHERE q.quote_id = ANY($1::uuid[]) ORDER BY q.quote_id, l.position
        """,
        list(quote_ids),
    )
    return [QuoteLine(**dict(r)) for r in rows]


async def answer_quote(
    conn: Connection,
    *,
    quote_id: UUID,
    status: str,
    at: dt.datetime | None,
    idempotency_key: str | None = None,
    decline_reason: str = "",
) -> Quote:
    row = await conn.fetchrow(
        f"""
        UPDATE quotes
        SET status = $2, answered_at = coalesce($3::timestamptz, now()),
            accept_idempotency_key = coalesce($4, accept_idempotency_key), decline_reason = $5
        WHERE id = $1 RETURNING {_QUOTE_COLUMNS}
        """,
        quote_id,
        status,
        at,
        idempotency_key,
        decline_reason,
    )
    assert row is not None
    return _quote(row)


async def withdraw_pending_invitations(conn: Connection, *, rfq_id: UUID, at: dt.datetime) -> list[UUID]:
    """Withdraw the RFQ's pending invitations (it was cancelled); their ids."""
    rows = await conn.fetch(
        """
        UPDATE invitations SET status = 'withdrawn', answered_at = $2
        WHERE rfq_id = $1 AND status = 'pending' RETURNING id
        """,
        rfq_id,
        at,
    )
    return [r["id"] for r in rows]


async def overdue_quotes(conn: Connection, *, today: dt.date) -> list[Quote]:
    """Issued quotes whose last valid day is before ``today``, not locked: the caller locks each quote's RFQ,
    then the quote, and checks it again (the lock order of every writer of an RFQ)."""
    rows = await conn.fetch(
        f"""
        SELECT {_QUOTE_COLUMNS} FROM quotes WHERE status = 'issued' AND valid_until < $1
        ORDER BY valid_until, id
        """,
        today,
    )
    return [_quote(r) for r in rows]


# --- capacity bookings -------------------------------------------------------------------------------------


def lock_key(factory_id: UUID, process_code: str) -> int:
    """A stable signed 64-bit advisory-lock key for one factory × process."""
    digest = hashlib.blake2b(f"capacity:{factory_id}:{process_code}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def lock_capacity(conn: Connection, *, keys: Sequence[tuple[UUID, str]]) -> None:
    """Take the transaction-scoped advisory lock of every factory × process, in ascending key order, in one
    statement: two awards that share a factory × process run one after the other, and a fixed order means
    they cannot deadlock."""
    await conn.execute(
        """
        SELECT count(pg_advisory_xact_lock(k))
        FROM (SELECT DISTINCT k FROM unnest($1::bigint[]) AS t(k) ORDER BY k) AS ordered
        """,
        sorted({lock_key(f, p) for f, p in keys}),
    )


@dataclass(frozen=True)
class WeekCapacity:
    """One factory × process × week: its hours (override or hours per week; 0 without the capability) and
    the hours booked by live bookings."""

    factory_id: UUID
    process_code: str
    week_start: dt.date
    capacity: Decimal
    booked: Decimal


async def week_capacities(
    conn: Connection, *, cells: Sequence[tuple[UUID, str, dt.date]]
) -> list[WeekCapacity]:
    """Capacity and live bookings of every (factory, process, Monday) in ``cells``, one query."""
    rows = await conn.fetch(
        """
        SELECT c.factory_id, c.process_code, c.week_start,
               coalesce(cw.hours, cap.hours_per_week, 0) AS capacity,
               coalesce((SELECT sum(b.hours) FROM capacity_bookings b
                         WHERE b.factory_id = c.factory_id AND b.process_code = c.process_code
                           AND b.week_start = c.week_start AND b.released_at IS NULL), 0) AS booked
        FROM unnest($1::uuid[], $2::text[], $3::date[]) AS c(factory_id, process_code, week_start)
        LEFT JOIN capabilities cap ON cap.factory_id = c.factory_id AND cap.process_code = c.process_code
        LEFT JOIN capacity_weeks cw ON cw.factory_id = c.factory_id AND cw.process_code = c.process_code
                                   AND cw.week_start = c.week_start
        """,
        [c[0] for c in cells],
        [c[1] for c in cells],
        [c[2] for c in cells],
    )
    return [WeekCapacity(**dict(r)) for r in rows]


async def insert_bookings(
    conn: Connection,
    *,
    quote_id: UUID,
    rfq_id: UUID,
    bookings: Sequence[tuple[UUID, str, dt.date, Decimal]],
    at: dt.datetime | None,
) -> None:
    """Every booking of an award in one statement (``unnest``)."""
    await conn.execute(
        """
        INSERT INTO capacity_bookings
            (quote_id, rfq_id, factory_id, process_code, week_start, hours, booked_at)
        SELECT $1, $2, f, p, w, h, coalesce($7::timestamptz, now())
        FROM unnest($3::uuid[], $4::text[], $5::date[], $6::numeric[]) AS t(f, p, w, h)
        """,
        quote_id,
        rfq_id,
        [b[0] for b in bookings],
        [b[1] for b in bookings],
        [b[2] for b in bookings],
        [b[3] for b in bookings],
        at,
    )


async def release_bookings(conn: Connection, *, rfq_id: UUID, at: dt.datetime) -> tuple[int, Decimal]:
    """Release the RFQ's live bookings: (how many, how many hours)."""
    row = await conn.fetchrow(
        """
        WITH released AS (
            UPDATE capacity_bookings SET released_at = $2
            WHERE rfq_id = $1 AND released_at IS NULL RETURNING hours
        )
        SELECT count(*) AS n, coalesce(sum(hours), 0) AS hours FROM released
        """,
        rfq_id,
        at,
    )
    assert row is not None
    return row["n"], row["hours"]
