"""SQL for RFQs, their lines and operations, and the reference data an RFQ is checked against."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, assert_never
from uuid import UUID

from server.db import Connection, SqlArgs
from server.rfqs.events import RfqEvent
from server.rfqs.rules import (
    BuyerSafeEvents,
    EventScope,
    EveryEvent,
    EveryRfq,
    NoEvents,
    OpenRfqsMatchingOwner,
    RfqScope,
    RfqsOfBuyer,
)


@dataclass(frozen=True)
class Rfq:
    id: UUID
    buyer_id: UUID
    title: str
    description: str
    currency: str
    incoterm: str
    destination_country: str
    due_date: dt.date
    bid_deadline: dt.date
    nda_required: bool
    disclose_buyer: bool
    status: str
    created_at: dt.datetime
    cancelled_at: dt.datetime | None


@dataclass(frozen=True)
class RfqLine:
    id: UUID
    rfq_id: UUID
    position: int
    part_number: str
    name: str
    material: str
    quantity: int
    tolerance_um: Decimal
    envelope_mm: int
    required_certifications: tuple[str, ...]
    target_unit_price: Decimal | None
    notes: str


@dataclass(frozen=True)
class RfqOperation:
    rfq_line_id: UUID
    position: int
    process_code: str
    notes: str


@dataclass(frozen=True)
class IdempotencyRecord:
    """The RFQ a buyer already submitted under an idempotency key, and the hash of that input."""

    rfq_id: UUID
    request_hash: str


@dataclass(frozen=True)
class NewOperation:
    position: int
    process_code: str
    notes: str


@dataclass(frozen=True)
class NewLine:
    """A validated line to insert; ``id`` is chosen by the caller so operations can refer to it."""

    id: UUID
    position: int
    part_number: str
    name: str
    material: str
    quantity: int
    tolerance_um: Decimal
    envelope_mm: int
    required_certifications: tuple[str, ...]
    target_unit_price: Decimal | None
    notes: str
    operations: tuple[NewOperation, ...]


_RFQ_COLUMNS = """
    r.id, r.buyer_id, r.title, r.description, r.currency, r.incoterm, r.destination_country, r.due_date,
    r.bid_deadline, r.nda_required, r.disclose_buyer, r.status, r.created_at, r.cancelled_at
"""
_LINE_COLUMNS = """
    id, rfq_id, position, part_number, name, material, quantity, tolerance_um, envelope_mm,
    required_certifications, target_unit_price, notes
"""


def _rfq(row: Any) -> Rfq:
    values = dict(row)
    # char(n) columns come back as str already; strip guards against any padding.
    values["currency"] = values["currency"].strip()
    values["destination_country"] = values["destination_country"].strip()
    return Rfq(**values)


def _line(row: Any) -> RfqLine:
    values = dict(row)
    values["required_certifications"] = tuple(values["required_certifications"])
    return RfqLine(**values)


# --- visibility ---------------------------------------------------------------------------------------


def scope_condition(scope: RfqScope, args: SqlArgs, *, alias: str = "r") -> str:
    """The SQL predicate over ``rfqs AS <alias>`` that holds for the RFQs in ``scope``."""
    r = alias
    match scope:
        case EveryRfq():
            return "TRUE"
        case RfqsOfBuyer(buyer_id=buyer_id):
            return f"{r}.buyer_id = {args.add(buyer_id)}"
        case OpenRfqsMatchingOwner(owner_user_id=owner):
            owner_arg = args.add(owner)
            return f"""
                {r}.status = 'open' AND EXISTS (
                    SELECT 1
                    FROM rfq_lines vl
                    JOIN rfq_operations vo ON vo.rfq_line_id = vl.id
                    JOIN capabilities vc
                      ON vc.process_code = vo.process_code AND vl.material = ANY (vc.materials)
                    JOIN factories vf ON vf.id = vc.factory_id AND vf.approval_status = 'approved'
                    WHERE vl.rfq_id = {r}.id AND vf.owner_user_id = {owner_arg}
                ) AND (
                    NOT {r}.nda_required
                    OR EXISTS (
                        SELECT 1 FROM users nu WHERE nu.id = {owner_arg} AND nu.nda_accepted_at IS NOT NULL
                    )
                )
            """
        case _:
            assert_never(scope)


# --- reference data -----------------------------------------------------------------------------------


async def buyer_currency(conn: Connection, *, buyer_id: UUID) -> str | None:
    currency: str | None = await conn.fetchval("SELECT currency FROM buyers WHERE id = $1", buyer_id)
    return currency.strip() if currency else None


# --- writing ------------------------------------------------------------------------------------------


async def idempotency_record(
    conn: Connection, *, buyer_id: UUID, idempotency_key: str
) -> IdempotencyRecord | None:
    row = await conn.fetchrow(
        "SELECT id AS rfq_id, request_hash FROM rfqs WHERE buyer_id = $1 AND idempotency_key = $2",
        buyer_id,
        idempotency_key,
    )
    return IdempotencyRecord(**dict(row)) if row else None


async def insert_rfq(
    conn: Connection,
    *,
    buyer_id: UUID,
    title: str,
    description: str,
    currency: str,
    incoterm: str,
    destination_country: str,
    due_date: dt.date,
    bid_deadline: dt.date,
    nda_required: bool,
    disclose_buyer: bool,
    idempotency_key: str | None,
    request_hash: str | None,
) -> UUID | None:
    """Insert an open RFQ; None when the buyer already has one under ``idempotency_key``.

    ``ON CONFLICT DO NOTHING`` on the unique (buyer, key) makes a concurrent submit with the same key wait
    for the first one's transaction and then insert nothing, instead of failing the transaction.
    """
    rfq_id: UUID | None = await conn.fetchval(
        """
        INSERT INTO rfqs (buyer_id, title, description, currency, incoterm, destination_country, due_date,
                          bid_deadline, nda_required, disclose_buyer, idempotency_key, request_hash)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
        ON CONFLICT ON CONSTRAINT rfqs_buyer_idempotency_key DO NOTHING
        RETURNING id
        """,
        buyer_id,
        title,
        description,
        currency,
        incoterm,
        destination_country,
        due_date,
        bid_deadline,
        nda_required,
        disclose_buyer,
        idempotency_key,
        request_hash,
    )
    return rfq_id


async def insert_lines(conn: Connection, *, rfq_id: UUID, lines: list[NewLine]) -> None:
    """Insert the lines of ``rfq_id`` and their operations (two pipelined batches)."""
    await conn.executemany(
        """
        INSERT INTO rfq_lines (id, rfq_id, position, part_number, name, material, quantity, tolerance_um,
                               envelope_mm, required_certifications, target_unit_price, notes)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
        """,
        [
            (
                line.id,
                rfq_id,
                line.position,
                line.part_number,
                line.name,
                line.material,
                line.quantity,
                line.tolerance_um,
                line.envelope_mm,
                list(line.required_certifications),
                line.target_unit_price,
                line.notes,
            )
            for line in lines
        ],
    )
    await conn.executemany(
        "INSERT INTO rfq_operations (rfq_line_id, position, process_code, notes) VALUES ($1, $2, $3, $4)",
        [(line.id, op.position, op.process_code, op.notes) for line in lines for op in line.operations],
    )


async def rfq_for_update(conn: Connection, *, rfq_id: UUID) -> Rfq | None:
    row = await conn.fetchrow(f"SELECT {_RFQ_COLUMNS} FROM rfqs r WHERE r.id = $1 FOR UPDATE", rfq_id)
    return _rfq(row) if row else None


async def set_status(conn: Connection, *, rfq_id: UUID, status: str) -> Rfq:
    """Write a new status; only :func:`server.rfqs.lifecycle.transition` calls this (the database refuses
    transitions the life cycle does not have). ``cancelled_at`` is set when it becomes cancelled."""
    row = await conn.fetchrow(
        f"""
        UPDATE rfqs r
        SET status = $2, cancelled_at = CASE WHEN $2 = 'cancelled' THEN now() ELSE r.cancelled_at END
        WHERE r.id = $1
        RETURNING {_RFQ_COLUMNS}
        """,
        rfq_id,
        status,
    )
    assert row is not None
    return _rfq(row)


async def insert_packages(conn: Connection, *, rfq_id: UUID) -> int:
    """One work package per operation of every line of ``rfq_id``, in one statement; returns how many."""
    result: str = await conn.execute(
        """
        INSERT INTO rfq_packages (rfq_id, rfq_line_id, operation_position)
        SELECT l.rfq_id, o.rfq_line_id, o.position
        FROM rfq_lines l JOIN rfq_operations o ON o.rfq_line_id = l.id
        WHERE l.rfq_id = $1
        ORDER BY l.position, o.position
        """,
        rfq_id,
    )
    return int(result.split()[-1])


# --- reading ------------------------------------------------------------------------------------------


async def rfqs_by_ids(conn: Connection, *, ids: list[UUID]) -> list[Rfq]:
    rows = await conn.fetch(f"SELECT {_RFQ_COLUMNS} FROM rfqs r WHERE r.id = ANY($1::uuid[])", ids)
    return [_rfq(r) for r in rows]


async def visible_rfq(conn: Connection, *, rfq_id: UUID, scope: RfqScope) -> Rfq | None:
    """The RFQ ``rfq_id`` when it lies in ``scope``."""
    args = SqlArgs()
    visible = scope_condition(scope, args)
    row = await conn.fetchrow(
        f"SELECT {_RFQ_COLUMNS} FROM rfqs r WHERE r.id = {args.add(rfq_id)} AND ({visible})", *args.values
    )
    return _rfq(row) if row else None


@dataclass(frozen=True)
class RfqSearch:
    """Which RFQs a list holds: the caller's scope and the filters it gave."""

    scope: RfqScope
    status: str | None = None
    buyer_id: UUID | None = None


def _search_conditions(search: RfqSearch, args: SqlArgs) -> list[str]:
    conditions = [f"({scope_condition(search.scope, args)})"]
    if search.status is not None:
        conditions.append(f"r.status = {args.add(search.status)}")
    if search.buyer_id is not None:
        conditions.append(f"r.buyer_id = {args.add(search.buyer_id)}")
    return conditions


async def count_rfqs(conn: Connection, *, search: RfqSearch) -> int:
    args = SqlArgs()
    where = " AND ".join(_search_conditions(search, args))
    count: int = await conn.fetchval(f"SELECT count(*) FROM rfqs r WHERE {where}", *args.values)
    return count


async def list_rfqs(
    conn: Connection, *, search: RfqSearch, after: tuple[dt.datetime, UUID] | None, limit: int
) -> list[Rfq]:
    """Up to ``limit`` RFQs of ``search``, newest first, after keyset ``after``."""
    args = SqlArgs()
    conditions = _search_conditions(search, args)
    if after is not None:
        conditions.append(f"(r.created_at, r.id) < ({args.add(after[0])}, {args.add(after[1])})")
    rows = await conn.fetch(
        f"""
        SELECT {_RFQ_COLUMNS} FROM rfqs r
        WHERE {" AND ".join(conditions)}
        ORDER BY r.created_at DESC, r.id DESC
        LIMIT {args.add(limit)}
        """,
        *args.values,
    )
    return [_rfq(r) for r in rows]


async def lines_by_rfq_ids(conn: Connection, *, rfq_ids: list[UUID]) -> list[RfqLine]:
    rows = await conn.fetch(
        f"SELECT {_LINE_COLUMNS} FROM rfq_lines WHERE rfq_id = ANY($1::uuid[]) ORDER BY rfq_id, position",
        rfq_ids,
    )
    return [_line(r) for r in rows]


async def operations_by_line_ids(conn: Connection, *, line_ids: list[UUID]) -> list[RfqOperation]:
    rows = await conn.fetch(
        """
        SELECT rfq_line_id, position, process_code, notes FROM rfq_operations
        WHERE rfq_line_id = ANY($1::uuid[]) ORDER BY rfq_line_id, position
        """,
        line_ids,
    )
    return [RfqOperation(**dict(r)) for r in rows]


_EVENT_COLUMNS = """
    id, rfq_id, at, kind, actor_role, actor_user_id, actor_buyer_id, buyer_visible, payload
"""


def event_condition(scope: EventScope) -> str:
    """The SQL predicate over ``rfq_events`` that holds for the events in ``scope`` (no parameters)."""
    match scope:
        case EveryEvent():
            return "TRUE"
        case BuyerSafeEvents():
            return "buyer_visible"
        case NoEvents():
            return "FALSE"
        case _:
            assert_never(scope)


async def events_by_rfq_ids(conn: Connection, *, rfq_ids: list[UUID], scope: EventScope) -> list[RfqEvent]:
    """The events of ``rfq_ids`` that lie in ``scope``, oldest first."""
    rows = await conn.fetch(
        f"""
        SELECT {_EVENT_COLUMNS} FROM rfq_events
        WHERE rfq_id = ANY($1::uuid[]) AND ({event_condition(scope)})
        ORDER BY rfq_id, id
        """,
        rfq_ids,
    )
    return [RfqEvent(**dict(r)) for r in rows]
