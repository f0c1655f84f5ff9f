"""SQL for factories, their certifications, capabilities and capacity overrides."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields
from decimal import Decimal
from typing import NamedTuple
from uuid import UUID

from server.db import Connection, SqlArgs, copy_rows

# --- rows ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Factory:
    id: UUID
    owner_user_id: UUID
    name_ja: str
    name_en: str
    prefecture: str
    city: str
    cluster: str | None
    employees: int | None
    founded_year: int | None
    description: str
    created_at: dt.datetime
    updated_at: dt.datetime
    approval_status: str  # pending | approved | rejected
    approval_note: str


@dataclass(frozen=True)
class FactoryCertification:
    factory_id: UUID
    code: str
    name: str
    valid_until: dt.date


@dataclass(frozen=True)
class NewCapability:
    """A capability to write: :class:`Capability` without what the database sets."""

    factory_id: UUID
    process_code: str
    materials: list[str]
    best_tolerance_um: Decimal
    max_envelope_mm: int
    min_lot: int
    max_lot: int
    hours_per_week: Decimal
    hourly_rate_jpy: int
    setup_cost_jpy: int
    setup_hours: Decimal
    lead_days: int


@dataclass(frozen=True)
class Capability(NewCapability):
    """A stored capability: what was written, and when."""

    updated_at: dt.datetime


class CapabilityListing(NamedTuple):
    """A capability as the registry shows it: figures as floats (PostgreSQL converts ``numeric`` to
    ``float8`` exactly as ``float(Decimal)`` would, correctly rounded), no ``updated_at``.

    A named tuple, not a frozen dataclass: a page builds one per capability of 50 factories, and a frozen
    dataclass's ``__init__`` costs four times as much; decoding ``numeric`` into ``Decimal`` costs as much
    again as the rest of the row. Read-only like every row.
    """

    factory_id: UUID
    process_code: str
    materials: list[str]
    best_tolerance_um: float
    max_envelope_mm: int
    min_lot: int
    max_lot: int
    hours_per_week: float
    hourly_rate_jpy: int
    setup_cost_jpy: int
    setup_hours: float
    lead_days: int


@dataclass(frozen=True)
class Cluster:
    """An industrial cluster, as factories name it, and how many factories belong to it."""

    name: str
    factory_count: int


@dataclass(frozen=True)
class CapacityOverride:
    factory_id: UUID
    process_code: str
    week_start: dt.date
    hours: Decimal


@dataclass(frozen=True)
class FactorySearch:
    """Filters of the registry; None means "any". Every set filter must hold."""

    process_code: str | None = None
    material: str | None = None
    max_tolerance_um: Decimal | None = None
    prefecture: str | None = None
    cluster: str | None = None
    certification: str | None = None
    certified_on: dt.date | None = None
    owner_user_id: UUID | None = None
    # Which factories the caller may see at all: only approved ones (plus its own), or every one.
    approved_only: bool = True
    or_owned_by: UUID | None = None


# In the dataclasses' field order: the pages build their rows positionally (``Factory(*record)``), which
# costs a third less than ``Factory(**dict(record))`` on a page of 144 capabilities.
_FACTORY_COLUMNS = ", ".join(f"f.{f.name}" for f in fields(Factory))
_CAPABILITY_COLUMNS = ", ".join(f"c.{f.name}" for f in fields(Capability))

# The columns of a NewCapability, in its field order; the key (factory, process) comes first.
_NEW_CAPABILITY_COLUMNS = [f.name for f in fields(NewCapability)]
_UPSERT_CAPABILITY = f"""
    INSERT INTO capabilities AS c ({", ".join(_NEW_CAPABILITY_COLUMNS)})
    VALUES ({", ".join(f"${n}" for n in range(1, len(_NEW_CAPABILITY_COLUMNS) + 1))})
    ON CONFLICT (factory_id, process_code) DO UPDATE SET
        {", ".join(f"{column} = EXCLUDED.{column}" for column in _NEW_CAPABILITY_COLUMNS[2:])},
        updated_at = now()
    RETURNING {_CAPABILITY_COLUMNS}
"""


# --- factories ----------------------------------------------------------------------------------------


async def create_factory(
    conn: Connection,
    *,
    owner_user_id: UUID,
    name_ja: str,
    name_en: str,
    prefecture: str,
    city: str,
    cluster: str | None,
    employees: int | None,
    founded_year: int | None,
    description: str,
    approval_status: str = "pending",
) -> Factory:
    """A new factory; registrations wait for the cluster office (``pending``), the demo's are vetted."""
    row = await conn.fetchrow(
        f"""
        INSERT INTO factories AS f
            (owner_user_id, name_ja, name_en, prefecture, city, cluster, employees, founded_year, description,
             approval_status)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        RETURNING {_FACTORY_COLUMNS}
        """,
        owner_user_id,
        name_ja,
        name_en,
        prefecture,
        city,
        cluster,
        employees,
        founded_year,
        description,
        approval_status,
    )
    assert row is not None
    return Factory(**dict(row))


async def set_approval(
    conn: Connection, *, factory_id: UUID, status: str, note: str, user_id: UUID, now: dt.datetime
) -> Factory:
    row = await conn.fetchrow(
        f"""
        UPDATE factories f
        SET approval_status = $2, approval_note = $3, approval_reviewed_by = $4, approval_reviewed_at = $5
        WHERE f.id = $1
        RETURNING {_FACTORY_COLUMNS}
        """,
        factory_id,
        status,
        note,
        user_id,
        now,
    )
    assert row is not None
    return Factory(**dict(row))


async def update_factory(
    conn: Connection,
    *,
    factory_id: UUID,
    name_ja: str,
    name_en: str,
    prefecture: str,
    city: str,
    cluster: str | None,
    employees: int | None,
    founded_year: int | None,
    description: str,
) -> Factory:
    row = await conn.fetchrow(
        f"""
        UPDATE factories AS f SET
            name_ja = $2, name_en = $3, prefecture = $4, city = $5, cluster = $6, employees = $7,
            founded_year = $8, description = $9, updated_at = now()
        WHERE f.id = $1
        RETURNING {_FACTORY_COLUMNS}
        """,
        factory_id,
        name_ja,
        name_en,
        prefecture,
        city,
        cluster,
        employees,
        founded_year,
        description,
    )
    assert row is not None
    return Factory(**dict(row))


async def factory_by_id(conn: Connection, *, factory_id: UUID, for_update: bool = False) -> Factory | None:
    """One factory; ``for_update`` locks its row until the transaction ends (writers serialise on it)."""
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(f"SELECT {_FACTORY_COLUMNS} FROM factories f WHERE f.id = $1{lock}", factory_id)
    return Factory(**dict(row)) if row else None


async def factories_by_ids(conn: Connection, *, ids: Sequence[UUID]) -> list[Factory]:
    rows = await conn.fetch(
        f"SELECT {_FACTORY_COLUMNS} FROM factories f WHERE f.id = ANY($1::uuid[])", list(ids)
    )
    return [Factory(**dict(r)) for r in rows]


def _search_where(search: FactorySearch, args: SqlArgs) -> str:
    """The WHERE conditions of ``search`` over ``factories f``; values go to ``args``."""
    conditions: list[str] = []
    capability: list[str] = []
    if search.process_code is not None:
        capability.append(f"c.process_code = {args.add(search.process_code)}")
    if search.material is not None:
        capability.append(f"c.materials @> ARRAY[{args.add(search.material)}::text]")
    if search.max_tolerance_um is not None:
        capability.append(f"c.best_tolerance_um <= {args.add(search.max_tolerance_um)}")
    if capability:
        # One capability must satisfy all of them: "turns SUS304 to ±5 µm", not three different ones.
        conditions.append(
            "EXISTS (SELECT 1 FROM capabilities c WHERE c.factory_id = f.id AND "
            + " AND ".join(capability)
            + ")"
        )
    if search.prefecture is not None:
        conditions.append(f"f.prefecture = {args.add(search.prefecture)}")
    if search.cluster is not None:
        conditions.append(f"lower(f.cluster) = lower({args.add(search.cluster)})")
    if search.certification is not None:
        code = args.add(search.certification)
        on = args.add(search.certified_on)
        conditions.append(
            "EXISTS (SELECT 1 FROM factory_certifications fc WHERE fc.factory_id = f.id"
            f" AND fc.certification_code = {code} AND fc.valid_until >= {on}::date)"
        )
    if search.owner_user_id is not None:
        conditions.append(f"f.owner_user_id = {args.add(search.owner_user_id)}")
    if search.approved_only:
        own = f" OR f.owner_user_id = {args.add(search.or_owned_by)}" if search.or_owned_by else ""
        conditions.append(f"(f.approval_status = 'approved'{own})")
    return " AND ".join(conditions) or "TRUE"


async def search_factories(
    conn: Connection, *, search: FactorySearch, after: tuple[str, UUID] | None, limit: int
) -> list[Factory]:
    """Up to ``limit`` factories matching ``search`` in (name_en, id) order, after the key ``after``."""
    rows, _ = await search_factories_counted(conn, search=search, after=after, limit=limit, count=False)
    return rows


async def search_factories_counted(
    conn: Connection, *, search: FactorySearch, after: tuple[str, UUID] | None, limit: int, count: bool
) -> tuple[list[Factory], int | None]:
    """:func:`search_factories`, and with ``count`` how many factories match ``search`` over all pages,
    read by the same statement (one round trip, one snapshot); None when not asked or when the page came
    back empty (the count rides on the page's rows: ask :func:`count_factories` then)."""
    args = SqlArgs()
    where = _search_where(search, args)
    total = f", (SELECT count(*) FROM factories f WHERE {where})" if count else ""
    if after is not None:
        name, factory_id = after
        where += f" AND (f.name_en, f.id) > ({args.add(name)}, {args.add(factory_id)}::uuid)"
    rows = await conn.fetch(
        f"""
        SELECT {_FACTORY_COLUMNS}{total} FROM factories f WHERE {where}
        ORDER BY f.name_en, f.id LIMIT {args.add(limit)}
        """,
        *args.values,
    )
    if not count:
        return [Factory(*r) for r in rows], None  # _FACTORY_COLUMNS: in field order
    return [Factory(*r[:-1]) for r in rows], (rows[0][-1] if rows else None)


async def count_factories(conn: Connection, *, search: FactorySearch) -> int:
    """How many factories match ``search``."""
    args = SqlArgs()
    where = _search_where(search, args)
    count: int = await conn.fetchval(f"SELECT count(*) FROM factories f WHERE {where}", *args.values)
    return count


async def clusters(conn: Connection) -> list[Cluster]:
    """Every cluster some factory belongs to, by name, with its number of factories.

    Names are grouped case-insensitively, as the registry's ``cluster`` filter matches them; each group is
    shown in its most common spelling.
    """
    rows = await conn.fetch(
        """
        SELECT mode() WITHIN GROUP (ORDER BY cluster) AS name, count(*) AS factory_count
        FROM factories WHERE cluster IS NOT NULL AND approval_status = 'approved'
        GROUP BY lower(cluster)
        ORDER BY name
        """
    )
    return [Cluster(**dict(r)) for r in rows]


async def has_cluster(conn: Connection, *, name: str) -> bool:
    """Some factory belongs to the cluster ``name`` (compared case-insensitively)."""
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM factories WHERE lower(cluster) = lower($1))", name
    )
    return found


# --- certifications of factories ----------------------------------------------------------------------


async def replace_factory_certifications(
    conn: Connection, *, factory_id: UUID, certifications: Sequence[tuple[str, dt.date]]
) -> None:
    """Make ``certifications`` (code, valid until) the factory's whole set."""
    await conn.execute("DELETE FROM factory_certifications WHERE factory_id = $1", factory_id)
    if not certifications:
        return
    await conn.execute(
        """
        INSERT INTO factory_certifications (factory_id, certification_code, valid_until)
        SELECT $1, t.code, t.valid_until FROM unnest($2::text[], $3::date[]) AS t(code, valid_until)
        """,
        factory_id,
        [code for code, _ in certifications],
        [valid_until for _, valid_until in certifications],
    )


async def add_factory_certifications(
    conn: Connection, *, certifications: Sequence[tuple[UUID, str, dt.date]]
) -> None:
    """Insert many (factory id, certification code, valid until) rows at once (bulk loads, e.g. the demo)."""
    await copy_rows(
        conn,
        table="factory_certifications",
        columns=["factory_id", "certification_code", "valid_until"],
        rows=certifications,
    )


async def certifications_by_factory_ids(
    conn: Connection, *, factory_ids: Sequence[UUID]
) -> list[FactoryCertification]:
    rows = await conn.fetch(
        """
        SELECT fc.factory_id, fc.certification_code AS code, c.name, fc.valid_until
        FROM factory_certifications fc JOIN certifications c ON c.code = fc.certification_code
        WHERE fc.factory_id = ANY($1::uuid[])
        ORDER BY fc.factory_id, fc.certification_code
        """,
        list(factory_ids),
    )
    return [FactoryCertification(*r) for r in rows]  # the columns in field order


# --- capabilities -------------------------------------------------------------------------------------


async def upsert_capability(conn: Connection, *, capability: NewCapability) -> Capability:
    """Write a capability, replacing the factory's existing one for the same process."""
    row = await conn.fetchrow(_UPSERT_CAPABILITY, *astuple(capability))
    assert row is not None
    return Capability(**dict(row))


async def add_capabilities(conn: Connection, *, capabilities: Sequence[NewCapability]) -> None:
    """Insert many new capabilities at once (bulk loads such as the demo)."""
    await copy_rows(
        conn, table="capabilities", columns=_NEW_CAPABILITY_COLUMNS, rows=[astuple(c) for c in capabilities]
    )


async def delete_capability(conn: Connection, *, factory_id: UUID, process_code: str) -> bool:
    """Remove one capability (and its capacity overrides); False when there was none."""
    deleted = await conn.fetchval(
        "DELETE FROM capabilities WHERE factory_id = $1 AND process_code = $2 RETURNING 1",
        factory_id,
        process_code,
    )
    return deleted is not None


async def capability(conn: Connection, *, factory_id: UUID, process_code: str) -> Capability | None:
    row = await conn.fetchrow(
        f"SELECT {_CAPABILITY_COLUMNS} FROM capabilities c WHERE c.factory_id = $1 AND c.process_code = $2",
        factory_id,
        process_code,
    )
    return Capability(**dict(row)) if row else None


async def capabilities_by_factory_ids(conn: Connection, *, factory_ids: Sequence[UUID]) -> list[Capability]:
    """The capabilities of ``factory_ids``, by factory then in taxonomy order."""
    rows = await conn.fetch(
        f"""
        SELECT {_CAPABILITY_COLUMNS}
        FROM capabilities c JOIN processes p ON p.code = c.process_code
        WHERE c.factory_id = ANY($1::uuid[])
        ORDER BY c.factory_id, p.sort_order, c.process_code
        """,
        list(factory_ids),
    )
    return [Capability(*r) for r in rows]  # _CAPABILITY_COLUMNS: in field order


async def capability_listings_by_factory_ids(
    conn: Connection, *, factory_ids: Sequence[UUID]
) -> list[CapabilityListing]:
    """:func:`capabilities_by_factory_ids` as the registry shows them (:class:`CapabilityListing`), **in no
    particular order**: the caller puts them in taxonomy order from its in-memory catalogue
    (``schema.factories.types.capabilities_of``). Joining ``processes`` and sorting here cost PostgreSQL a
    quarter of this statement's CPU on every page of the registry (``bench/results/api_serve_read.md``)."""
    rows = await conn.fetch(
        """
        SELECT c.factory_id, c.process_code, c.materials, c.best_tolerance_um::float8, c.max_envelope_mm,
               c.min_lot, c.max_lot, c.hours_per_week::float8, c.hourly_rate_jpy, c.setup_cost_jpy,
               c.setup_hours::float8, c.lead_days
        FROM capabilities c
        WHERE c.factory_id = ANY($1::uuid[])
        """,
        list(factory_ids),
    )
    return [CapabilityListing(*r) for r in rows]  # the columns in field order


# --- capacity -----------------------------------------------------------------------------------------


async def set_capacity_weeks(
    conn: Connection,
    *,
    factory_id: UUID,
    process_code: str,
    hours_by_week: Sequence[tuple[dt.date, Decimal | None]],
) -> None:
    """Write overrides for the given ISO weeks (Mondays); a None removes the week's override."""
    set_weeks = [(week, hours) for week, hours in hours_by_week if hours is not None]
    cleared = [week for week, hours in hours_by_week if hours is None]
    if cleared:
        await conn.execute(
            """
            DELETE FROM capacity_weeks
            WHERE factory_id = $1 AND process_code = $2 AND week_start = ANY($3::date[])
            """,
            factory_id,
            process_code,
            cleared,
        )
    if set_weeks:
        await conn.execute(
            """
            INSERT INTO capacity_weeks (factory_id, process_code, week_start, hours)
            SELECT $1, $2, t.week_start, t.hours
            FROM unnest($3::date[], $4::numeric[]) AS t(week_start, hours)
            ON CONFLICT (factory_id, process_code, week_start) DO UPDATE SET hours = EXCLUDED.hours
            """,
            factory_id,
            process_code,
            [week for week, _ in set_weeks],
            [hours for _, hours in set_weeks],
        )


async def add_capacity_overrides(conn: Connection, *, overrides: Sequence[CapacityOverride]) -> None:
    """Insert many new overrides at once (bulk loads such as the demo)."""
    await copy_rows(
        conn,
        table="capacity_weeks",
        columns=["factory_id", "process_code", "week_start", "hours"],
        rows=[astuple(o) for o in overrides],
    )


async def capacity_overrides(
    conn: Connection, *, ranges: Sequence[tuple[UUID, dt.date, dt.date]]
) -> list[CapacityOverride]:
    """Overrides of each (factory, first Monday, Monday after the last) range, all ranges in one query."""
    rows = await conn.fetch(
        """
        SELECT DISTINCT cw.factory_id, cw.process_code, cw.week_start, cw.hours
        FROM capacity_weeks cw
        JOIN unnest($1::uuid[], $2::date[], $3::date[]) AS r(factory_id, week_from, week_to)
          ON cw.factory_id = r.factory_id AND cw.week_start >= r.week_from AND cw.week_start < r.week_to
        ORDER BY cw.factory_id, cw.process_code, cw.week_start
        """,
        [r[0] for r in ranges],
        [r[1] for r in ranges],
        [r[2] for r in ranges],
    )
    return [CapacityOverride(**dict(r)) for r in rows]


@dataclass(frozen=True)
class CapacityBooking:
    """Hours of a factory × process × week booked by awards (live bookings, summed)."""

    factory_id: UUID
    process_code: str
    week_start: dt.date
    hours: Decimal


async def capacity_bookings(
    conn: Connection, *, ranges: Sequence[tuple[UUID, dt.date, dt.date]]
) -> list[CapacityBooking]:
    """Live booked hours of each (factory, first Monday, Monday after the last) range, all in one query."""
    rows = await conn.fetch(
        """
        SELECT b.factory_id, b.process_code, b.week_start, sum(b.hours) AS hours
        FROM capacity_bookings b
        WHERE b.released_at IS NULL
          AND EXISTS (SELECT 1
                      FROM unnest($1::uuid[], $2::date[], $3::date[]) AS r(factory_id, week_from, week_to)
                      WHERE b.factory_id = r.factory_id AND b.week_start >= r.week_from
                        AND b.week_start < r.week_to)
        GROUP BY b.factory_id, b.process_code, b.week_start
        ORDER BY b.factory_id, b.process_code, b.week_start
        """,
        [r[0] for r in ranges],
        [r[1] for r in ranges],
        [r[2] for r in ranges],
    )
    return [CapacityBooking(**dict(r)) for r in rows]
