"""SQL for RFQs, their lines and operations, and the reference data an RFQ is checked against."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, assert_never
from uuid import UUID

from server.db import Connection, SqlArgs
from server.rfqs.events import COLUMNS as EVENT_COLUMNS
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
    currency: str | None,
    incoterm: str,
    destination_country: str,
    due_date: dt.date,
    bid_deadline: dt.date,
    nda_required: bool,
    disclose_buyer: bool,
    idempotency_key: str | None,
    request_hash: str | None,
    lines: list[NewLine],
) -> Rfq | None:
    """Insert an open RFQ and its lines in one statement; None when the buyer already has an RFQ under
    ``idempotency_key`` (then nothing is inserted). ``currency`` None: the buyer's own.

    ``ON CONFLICT DO NOTHING`` on the unique (buyer, key) makes a concurrent submit with the same key wait
    for the first one's transaction and then insert nothing, instead of failing the transaction. The lines
    come as one array per column (``unnest``); a line's certifications, an array of its own, as JSON text.
    """
    row = await conn.fetchrow(
        f"""
        WITH r AS (
            INSERT INTO rfqs (buyer_id, title, description, currency, incoterm, destination_country, due_date,
                              bid_deadline, nda_required, disclose_buyer, idempotency_key, request_hash)
            VALUES ($1, $2, $3, COALESCE($4::text, (SELECT b.currency FROM buyers b WHERE b.id = $1)),
                    $5, $6, $7, $8, $9, $10, $11, $12)
            ON CONFLICT ON CONSTRAINT rfqs_buyer_idempotency_key DO NOTHING
            RETURNING *
        ), inserted_lines AS (
            INSERT INTO rfq_lines (id, rfq_id, position, part_number, name, material, quantity, tolerance_um,
                                   envelope_mm, required_certifications, target_unit_price, notes)
            SELECT l.id, r.id, l.position, l.part_number, l.name, l.material, l.quantity, l.tolerance_um,
                   l.envelope_mm, ARRAY(SELECT jsonb_array_elements_text(l.certifications::jsonb)),
                   l.target_unit_price, l.notes
            FROM r, unnest($13::uuid[], $14::int[], $15::text[], $16::text[], $17::text[], $18::int[],
                           $19::numeric[], $20::int[], $21::text[], $22::numeric[], $23::text[])
                 AS l(id, position, part_number, name, material, quantity, tolerance_um, envelope_mm,
                      certifications, target_unit_price, notes)
        )
        SELECT {_RFQ_COLUMNS} FROM r
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
        [line.id for line in lines],
        [line.position for line in lines],
        [line.part_number for line in lines],
        [line.name for line in lines],
        [line.material for line in lines],
        [line.quantity for line in lines],
        [line.tolerance_um for line in lines],
        [line.envelope_mm for line in lines],
        [json.dumps(list(line.required_certifications)) for line in lines],
        [line.target_unit_price for line in lines],
        [line.notes for line in lines],
    )
    return _rfq(row) if row else None


async def insert_operations(
    conn: Connection, *, rfq_id: UUID, lines: list[NewLine], event: tuple[Any, ...] | None = None
) -> int:
    """Insert the operations of ``rfq_id``'s lines, one work package per operation, and ``event`` (the
    values of :data:`server.rfqs.events.COLUMNS`), in one statement; returns the number of packages.

    A separate statement from :func:`insert_rfq`: the operations' trigger reads their line's material, which
    the statement that inserts the line cannot see yet. The operations come in line and routing order, as
    one array per column; the packages' foreign keys are checked at the end of the statement.
    """
    operations = [(line.id, op) for line in lines for op in line.operations]
    event_insert = (
        f"""
        , event AS (
            INSERT INTO rfq_events (rfq_id, {", ".join(EVENT_COLUMNS)})
            VALUES ($1, {", ".join(f"${6 + i}" for i in range(len(EVENT_COLUMNS)))})
        )
        """
        if event is not None
        else ""
    )
    count: int = await conn.fetchval(
        f"""
        WITH o AS (
            INSERT INTO rfq_operations (rfq_line_id, position, process_code, notes)
            SELECT * FROM unnest($2::uuid[], $3::int[], $4::text[], $5::text[])
        ), packages AS (
            INSERT INTO rfq_packages (rfq_id, rfq_line_id, operation_position)
            SELECT $1, u.line_id, u.position
            FROM unnest($2::uuid[], $3::int[]) WITH ORDINALITY AS u(line_id, position, n)
            ORDER BY u.n
            RETURNING 1
        ){event_insert}
        SELECT count(*) FROM packages
        """,
        rfq_id,
        [line_id for line_id, _ in operations],
        [op.position for _, op in operations],
        [op.process_code for _, op in operations],
        [op.notes for _, op in operations],
        *(event or ()),
    )
    return count


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
