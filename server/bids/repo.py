"""SQL for work packages, the factory data eligibility needs, and bids.

Factory data (capabilities, certifications with expiry, capacity overrides, owner, prefecture) is read with
this module's own queries, into the plain dataclasses of :mod:`server.bids.eligibility`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, assert_never
from uuid import UUID

from server.bids.eligibility import CapabilitySpec, FactorySpec, PackageSpec
from server.bids.rules import BidScope, BidsOfOwner, EveryBid, NoBids
from server.db import Connection, SqlArgs
from server.rfqs.repo import scope_condition
from server.rfqs.rules import OpenRfqsMatchingOwner

# --- work packages ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkPackage:
    """One RFQ line × one routing operation, with what it inherits from its line and RFQ."""

    id: UUID
    rfq_id: UUID
    rfq_status: str
    bid_deadline: dt.date
    due_date: dt.date
    line_id: UUID
    line_position: int
    part_name: str
    position: int
    process_code: str
    process_category: str
    material: str
    quantity: int
    tolerance_um: Decimal
    envelope_mm: int
    required_certifications: tuple[str, ...]

    def spec(self) -> PackageSpec:
        """What eligibility and estimates need of it."""
        return PackageSpec(
            id=self.id,
            process_code=self.process_code,
            process_category=self.process_category,
            material=self.material,
            quantity=self.quantity,
            tolerance_um=self.tolerance_um,
            envelope_mm=self.envelope_mm,
            due_date=self.due_date,
            required_certifications=self.required_certifications,
        )


_PACKAGE_SELECT = """
    SELECT p.id, p.rfq_id, r.status AS rfq_status, r.bid_deadline, r.due_date, l.id AS line_id,
           l.position AS line_position, l.name AS part_name, p.operation_position AS position,
           o.process_code, pr.category AS process_category, l.material, l.quantity, l.tolerance_um,
           l.envelope_mm, l.required_certifications
    FROM rfq_packages p
    JOIN rfqs r ON r.id = p.rfq_id
    JOIN rfq_lines l ON l.id = p.rfq_line_id
    JOIN rfq_operations o ON o.rfq_line_id = p.rfq_line_id AND o.position = p.operation_position
    JOIN processes pr ON pr.code = o.process_code
"""


def _package(row: Any) -> WorkPackage:
    values = dict(row)
    values["required_certifications"] = tuple(values["required_certifications"])
    return WorkPackage(**values)


async def packages_by_rfq_ids(conn: Connection, *, rfq_ids: Sequence[UUID]) -> list[WorkPackage]:
    """The packages of ``rfq_ids``, per RFQ in line and routing order."""
    rows = await conn.fetch(
        f"{_PACKAGE_SELECT} WHERE p.rfq_id = ANY($1::uuid[]) ORDER BY p.rfq_id, l.position, o.position",
        list(rfq_ids),
    )
    return [_package(r) for r in rows]


async def packages_by_ids(
    conn: Connection, *, ids: Sequence[UUID], lock_rfq: bool = False
) -> list[WorkPackage]:
    """The packages ``ids``; with ``lock_rfq`` their RFQs are locked FOR SHARE until the transaction ends
    (a bid then waits for a concurrent cancellation, and sees its result)."""
    lock = " FOR SHARE OF r" if lock_rfq else ""
    rows = await conn.fetch(f"{_PACKAGE_SELECT} WHERE p.id = ANY($1::uuid[]){lock}", list(ids))
    return [_package(r) for r in rows]


async def biddable_rfq_ids(conn: Connection, *, owner_user_id: UUID, today: dt.date) -> list[UUID]:
    """Open RFQs whose bid deadline (a JST date) is not before ``today`` and that at least one factory of
    the owner could work on (:class:`OpenRfqsMatchingOwner`), newest first. Eligibility in full is decided
    in Python (:mod:`server.bids.eligibility`)."""
    args = SqlArgs()
    visible = scope_condition(OpenRfqsMatchingOwner(owner_user_id), args)
    rows = await conn.fetch(
        f"""
        SELECT r.id FROM rfqs r
        WHERE ({visible}) AND r.bid_deadline >= {args.add(today)}
        ORDER BY r.created_at DESC, r.id DESC
        """,
        *args.values,
    )
    return [r["id"] for r in rows]


# --- factories, as eligibility sees them -------------------------------------------------------------


@dataclass(frozen=True)
class FactoryFilter:
    """Which factories to load: all, one owner's, or given ids (conditions combine)."""

    owner_user_id: UUID | None = None
    factory_ids: Sequence[UUID] | None = None


async def factory_specs(
    conn: Connection,
    *,
    where: FactoryFilter,
    process_codes: Sequence[str],
    weeks_from: dt.date,
    weeks_to: dt.date,
) -> list[FactorySpec]:
    """The factories of ``where`` with their certifications, their capabilities for ``process_codes`` and the
    capacity overrides and live bookings of those in the weeks ``[weeks_from, weeks_to)``; five queries
    whatever the count."""
    args = SqlArgs()
    conditions = ["TRUE"]
    if where.owner_user_id is not None:
        conditions.append(f"f.owner_user_id = {args.add(where.owner_user_id)}")
    if where.factory_ids is not None:
        conditions.append(f"f.id = ANY({args.add(list(where.factory_ids))}::uuid[])")
    factories = await conn.fetch(
        f"""
        SELECT f.id, f.name_en, f.owner_user_id, f.prefecture, f.approval_status FROM factories f
        WHERE {" AND ".join(conditions)}
        ORDER BY f.name_en, f.id
        """,
        *args.values,
    )
    ids = [f["id"] for f in factories]
    certifications: dict[UUID, dict[str, dt.date]] = defaultdict(dict)
    for row in await conn.fetch(
        """
        SELECT factory_id, certification_code, valid_until FROM factory_certifications
        WHERE factory_id = ANY($1::uuid[])
        """,
        ids,
    ):
        certifications[row["factory_id"]][row["certification_code"]] = row["valid_until"]
    overrides: dict[tuple[UUID, str], dict[dt.date, Decimal]] = defaultdict(dict)
    for row in await conn.fetch(
        """
        SELECT factory_id, process_code, week_start, hours FROM capacity_weeks
        WHERE factory_id = ANY($1::uuid[]) AND process_code = ANY($2::text[])
          AND week_start >= $3 AND week_start < $4
        """,
        ids,
        list(process_codes),
        weeks_from,
        weeks_to,
    ):
        overrides[row["factory_id"], row["process_code"]][row["week_start"]] = row["hours"]
    # Live capacity bookings of awards (issue 8): subtracted from free hours by eligibility.booked_hours.
    booked: dict[UUID, dict[tuple[str, dt.date], Decimal]] = defaultdict(dict)
    for row in await conn.fetch(
        """
        SELECT factory_id, process_code, week_start, sum(hours) AS hours FROM capacity_bookings
        WHERE factory_id = ANY($1::uuid[]) AND process_code = ANY($2::text[])
          AND week_start >= $3 AND week_start < $4 AND released_at IS NULL
        GROUP BY factory_id, process_code, week_start
        """,
        ids,
        list(process_codes),
        weeks_from,
        weeks_to,
    ):
        booked[row["factory_id"]][row["process_code"], row["week_start"]] = row["hours"]
    capabilities: dict[UUID, dict[str, CapabilitySpec]] = defaultdict(dict)
    for row in await conn.fetch(
        """
        SELECT factory_id, process_code, materials, best_tolerance_um, max_envelope_mm, min_lot, max_lot,
               hours_per_week, hourly_rate_jpy, setup_cost_jpy, setup_hours, lead_days
        FROM capabilities
        WHERE factory_id = ANY($1::uuid[]) AND process_code = ANY($2::text[])
        """,
        ids,
        list(process_codes),
    ):
        factory_id, code = row["factory_id"], row["process_code"]
        capabilities[factory_id][code] = CapabilitySpec(
            process_code=code,
            materials=frozenset(row["materials"]),
            best_tolerance_um=row["best_tolerance_um"],
            max_envelope_mm=row["max_envelope_mm"],
            min_lot=row["min_lot"],
            max_lot=row["max_lot"],
            hours_per_week=row["hours_per_week"],
            hourly_rate_jpy=row["hourly_rate_jpy"],
            setup_cost_jpy=row["setup_cost_jpy"],
            setup_hours=row["setup_hours"],
            lead_days=row["lead_days"],
            capacity_weeks=overrides.get((factory_id, code), {}),
        )
    return [
        FactorySpec(
            id=f["id"],
            name=f["name_en"],
            owner_user_id=f["owner_user_id"],
            prefecture=f["prefecture"].strip(),
            certifications=certifications.get(f["id"], {}),
            capabilities=capabilities.get(f["id"], {}),
            booked=booked.get(f["id"], {}),
            approved=f["approval_status"] == "approved",
        )
        for f in factories
    ]


async def factory_owner(conn: Connection, *, factory_id: UUID) -> UUID | None:
    """The user who owns ``factory_id``; None when there is no such factory."""
    owner: UUID | None = await conn.fetchval("SELECT owner_user_id FROM factories WHERE id = $1", factory_id)
    return owner


# --- bids ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bid:
    id: UUID
    package_id: UUID
    rfq_id: UUID
    factory_id: UUID
    unit_price_jpy: int
    setup_cost_jpy: int
    hours_per_unit: Decimal
    setup_hours: Decimal
    max_quantity: int | None
    earliest_start: dt.date | None
    valid_until: dt.date
    note: str
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class NewBid:
    """A validated bid to store."""

    package_id: UUID
    factory_id: UUID
    unit_price_jpy: int
    setup_cost_jpy: int
    hours_per_unit: Decimal
    setup_hours: Decimal
    max_quantity: int | None
    earliest_start: dt.date | None
    valid_until: dt.date
    note: str
    submitted_by: UUID


_BID_SELECT = """
    SELECT b.id, b.package_id, p.rfq_id, b.factory_id, b.unit_price_jpy, b.setup_cost_jpy, b.hours_per_unit,
           b.setup_hours, b.max_quantity, b.earliest_start, b.valid_until, b.note, b.created_at, b.updated_at
    FROM bids b
    JOIN rfq_packages p ON p.id = b.package_id
"""


def bid_condition(scope: BidScope, args: SqlArgs, *, alias: str = "b") -> str:
    """The SQL predicate over ``bids AS <alias>`` that holds for the bids in ``scope``."""
    match scope:
        case EveryBid():
            return "TRUE"
        case BidsOfOwner(owner_user_id=owner):
            return f"""
                EXISTS (SELECT 1 FROM factories bf
                        WHERE bf.id = {alias}.factory_id AND bf.owner_user_id = {args.add(owner)})
            """
        case NoBids():
            return "FALSE"
        case _:
            assert_never(scope)


async def bids_by_package_ids(conn: Connection, *, package_ids: Sequence[UUID], scope: BidScope) -> list[Bid]:
    """The bids on ``package_ids`` that lie in ``scope``, cheapest first per package."""
    args = SqlArgs()
    packages = args.add(list(package_ids))
    visible = bid_condition(scope, args)
    rows = await conn.fetch(
        f"""
        {_BID_SELECT}
        WHERE b.package_id = ANY({packages}::uuid[]) AND ({visible})
        ORDER BY b.package_id, b.unit_price_jpy, b.id
        """,
        *args.values,
    )
    return [Bid(**dict(r)) for r in rows]


async def bids_by_rfq_ids(conn: Connection, *, rfq_ids: Sequence[UUID], scope: BidScope) -> list[Bid]:
    """The bids on the packages of ``rfq_ids`` that lie in ``scope``."""
    args = SqlArgs()
    rfqs = args.add(list(rfq_ids))
    visible = bid_condition(scope, args)
    rows = await conn.fetch(
        f"""
        {_BID_SELECT}
        WHERE p.rfq_id = ANY({rfqs}::uuid[]) AND ({visible})
        ORDER BY p.rfq_id, b.package_id, b.unit_price_jpy, b.id
        """,
        *args.values,
    )
    return [Bid(**dict(r)) for r in rows]


async def bid_for_update(conn: Connection, *, bid_id: UUID) -> Bid | None:
    row = await conn.fetchrow(f"{_BID_SELECT} WHERE b.id = $1 FOR UPDATE OF b", bid_id)
    return Bid(**dict(row)) if row else None


async def upsert_bid(conn: Connection, *, bid: NewBid, rfq_id: UUID) -> tuple[Bid, bool]:
    """Store ``bid`` (on a package of ``rfq_id``), replacing the factory's earlier bid on the package; True
    when one was replaced. One statement: the stored row comes back from RETURNING."""
    # xmax is 0 for a row this statement inserted, and the updating transaction's id for one it updated.
    stored = await conn.fetchrow(
        """
        INSERT INTO bids (package_id, factory_id, unit_price_jpy, setup_cost_jpy, hours_per_unit, setup_hours,
                          max_quantity, earliest_start, valid_until, note, submitted_by)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
        ON CONFLICT ON CONSTRAINT bids_package_factory_key DO UPDATE SET
            unit_price_jpy = EXCLUDED.unit_price_jpy, setup_cost_jpy = EXCLUDED.setup_cost_jpy,
            hours_per_unit = EXCLUDED.hours_per_unit, setup_hours = EXCLUDED.setup_hours,
            max_quantity = EXCLUDED.max_quantity, earliest_start = EXCLUDED.earliest_start,
            valid_until = EXCLUDED.valid_until, note = EXCLUDED.note, submitted_by = EXCLUDED.submitted_by,
            updated_at = now()
        RETURNING id, package_id, factory_id, unit_price_jpy, setup_cost_jpy, hours_per_unit, setup_hours,
                  max_quantity, earliest_start, valid_until, note, created_at, updated_at,
                  xmax <> 0 AS replaced
        """,
        bid.package_id,
        bid.factory_id,
        bid.unit_price_jpy,
        bid.setup_cost_jpy,
        bid.hours_per_unit,
        bid.setup_hours,
        bid.max_quantity,
        bid.earliest_start,
        bid.valid_until,
        bid.note,
        bid.submitted_by,
    )
    assert stored is not None
    values = dict(stored)
    replaced = bool(values.pop("replaced"))
    return Bid(rfq_id=rfq_id, **values), replaced


async def delete_bid(conn: Connection, *, bid_id: UUID) -> None:
    await conn.execute("DELETE FROM bids WHERE id = $1", bid_id)


__all__ = [
    "Bid",
    "FactoryFilter",
    "NewBid",
    "WorkPackage",
    "bid_condition",
    "bid_for_update",
    "biddable_rfq_ids",
    "bids_by_package_ids",
    "bids_by_rfq_ids",
    "delete_bid",
    "factory_owner",
    "factory_specs",
    "packages_by_ids",
    "packages_by_rfq_ids",
    "upsert_bid",
]
