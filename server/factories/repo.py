"""SQL for the taxonomy (prefectures, materials, processes, certifications), factories, capabilities and
capacity overrides."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from server.db import Connection

# --- rows ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prefecture:
    code: str
    name_ja: str
    name_en: str


@dataclass(frozen=True)
class Material:
    code: str
    name_ja: str
    name_en: str
    family: str


@dataclass(frozen=True)
class Process:
    code: str
    name_ja: str
    name_en: str
    category: str
    material_families: list[str]
    sort_order: int


@dataclass(frozen=True)
class Certification:
    code: str
    name: str


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


@dataclass(frozen=True)
class FactoryCertification:
    factory_id: UUID
    code: str
    name: str
    valid_until: dt.date


@dataclass(frozen=True)
class Capability:
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
    updated_at: dt.datetime


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


_FACTORY_COLUMNS = (
    "f.id, f.owner_user_id, f.name_ja, f.name_en, f.prefecture, f.city, f.cluster, f.employees, "
    "f.founded_year, f.description, f.created_at, f.updated_at"
)
_CAPABILITY_COLUMNS = (
    "c.factory_id, c.process_code, c.materials, c.best_tolerance_um, c.max_envelope_mm, c.min_lot, "
    "c.max_lot, c.hours_per_week, c.hourly_rate_jpy, c.setup_cost_jpy, c.setup_hours, c.lead_days, "
    "c.updated_at"
)
_PROCESS_COLUMNS = "code, name_ja, name_en, category, material_families, sort_order"


# --- taxonomy -----------------------------------------------------------------------------------------


async def list_prefectures(conn: Connection) -> list[Prefecture]:
    rows = await conn.fetch("SELECT code, name_ja, name_en FROM prefectures ORDER BY code")
    return [Prefecture(**dict(r)) for r in rows]


async def prefectures_by_codes(conn: Connection, *, codes: Sequence[str]) -> list[Prefecture]:
    rows = await conn.fetch(
        "SELECT code, name_ja, name_en FROM prefectures WHERE code = ANY($1::text[]) ORDER BY code",
        list(codes),
    )
    return [Prefecture(**dict(r)) for r in rows]


async def list_materials(conn: Connection) -> list[Material]:
    rows = await conn.fetch("SELECT code, name_ja, name_en, family FROM materials ORDER BY family, code")
    return [Material(**dict(r)) for r in rows]


async def materials_by_codes(conn: Connection, *, codes: Sequence[str]) -> list[Material]:
    """The known materials among ``codes`` (unknown codes are simply absent)."""
    rows = await conn.fetch(
        "SELECT code, name_ja, name_en, family FROM materials WHERE code = ANY($1::text[])", list(codes)
    )
    return [Material(**dict(r)) for r in rows]


async def list_processes(conn: Connection, *, category: str | None = None) -> list[Process]:
    rows = await conn.fetch(
        f"""
        SELECT {_PROCESS_COLUMNS} FROM processes
        WHERE $1::text IS NULL OR category = $1
        ORDER BY sort_order, code
        """,
        category,
    )
    return [Process(**dict(r)) for r in rows]


async def processes_by_codes(conn: Connection, *, codes: Sequence[str]) -> list[Process]:
    """The known processes among ``codes`` (unknown codes are simply absent)."""
    rows = await conn.fetch(
        f"SELECT {_PROCESS_COLUMNS} FROM processes WHERE code = ANY($1::text[])", list(codes)
    )
    return [Process(**dict(r)) for r in rows]


async def known_process_codes(conn: Connection, *, codes: Sequence[str]) -> set[str]:
    """Which of ``codes`` are process codes of the taxonomy."""
    rows = await conn.fetch("SELECT code FROM processes WHERE code = ANY($1::text[])", list(codes))
    return {r["code"] for r in rows}


async def list_certifications(conn: Connection) -> list[Certification]:
    rows = await conn.fetch("SELECT code, name FROM certifications ORDER BY code")
    return [Certification(**dict(r)) for r in rows]


async def certifications_by_codes(conn: Connection, *, codes: Sequence[str]) -> list[Certification]:
    rows = await conn.fetch("SELECT code, name FROM certifications WHERE code = ANY($1::text[])", list(codes))
    return [Certification(**dict(r)) for r in rows]


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
) -> Factory:
    row = await conn.fetchrow(
        f"""
        INSERT INTO factories AS f
            (owner_user_id, name_ja, name_en, prefecture, city, cluster, employees, founded_year, description)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
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


def _search_where(search: FactorySearch, params: list[object]) -> str:
    """The WHERE conditions of ``search`` over ``factories f``; values go to ``params`` as ``$n``."""

    def arg(value: object) -> str:
        params.append(value)
        return f"${len(params)}"

    conditions: list[str] = []
    capability: list[str] = []
    if search.process_code is not None:
        capability.append(f"c.process_code = {arg(search.process_code)}")
    if search.material is not None:
        capability.append(f"c.materials @> ARRAY[{arg(search.material)}::text]")
    if search.max_tolerance_um is not None:
        capability.append(f"c.best_tolerance_um <= {arg(search.max_tolerance_um)}")
    if capability:
        # One capability must satisfy all of them: "turns SUS304 to ±5 µm", not three different ones.
        conditions.append(
            "EXISTS (SELECT 1 FROM capabilities c WHERE c.factory_id = f.id AND "
            + " AND ".join(capability)
            + ")"
        )
    if search.prefecture is not None:
        conditions.append(f"f.prefecture = {arg(search.prefecture)}")
    if search.cluster is not None:
        conditions.append(f"lower(f.cluster) = lower({arg(search.cluster)})")
    if search.certification is not None:
        code = arg(search.certification)
        on = arg(search.certified_on)
        conditions.append(
            "EXISTS (SELECT 1 FROM factory_certifications fc WHERE fc.factory_id = f.id"
            f" AND fc.certification_code = {code} AND fc.valid_until >= {on}::date)"
        )
    if search.owner_user_id is not None:
        conditions.append(f"f.owner_user_id = {arg(search.owner_user_id)}")
    return " AND ".join(conditions) or "TRUE"


async def search_factories(
    conn: Connection, *, search: FactorySearch, after: tuple[str, UUID] | None, limit: int
) -> list[Factory]:
    """Up to ``limit`` factories matching ``search`` in (name_en, id) order, after the key ``after``."""
    params: list[object] = []
    where = _search_where(search, params)
    if after is not None:
        params.extend(after)
        where += f" AND (f.name_en, f.id) > (${len(params) - 1}, ${len(params)}::uuid)"
    params.append(limit)
    rows = await conn.fetch(
        f"""
        SELECT {_FACTORY_COLUMNS} FROM factories f WHERE {where}
        ORDER BY f.name_en, f.id LIMIT ${len(params)}
        """,
        *params,
    )
    return [Factory(**dict(r)) for r in rows]


async def count_factories(conn: Connection, *, search: FactorySearch) -> int:
    params: list[object] = []
    where = _search_where(search, params)
    count: int = await conn.fetchval(f"SELECT count(*) FROM factories f WHERE {where}", *params)
    return count


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
    return [FactoryCertification(**dict(r)) for r in rows]


# --- capabilities -------------------------------------------------------------------------------------


async def upsert_capability(
    conn: Connection,
    *,
    factory_id: UUID,
    process_code: str,
    materials: Sequence[str],
    best_tolerance_um: Decimal,
    max_envelope_mm: int,
    min_lot: int,
    max_lot: int,
    hours_per_week: Decimal,
    hourly_rate_jpy: int,
    setup_cost_jpy: int,
    setup_hours: Decimal,
    lead_days: int,
) -> Capability:
    row = await conn.fetchrow(
        f"""
        INSERT INTO capabilities AS c (
            factory_id, process_code, materials, best_tolerance_um, max_envelope_mm, min_lot, max_lot,
            hours_per_week, hourly_rate_jpy, setup_cost_jpy, setup_hours, lead_days
        ) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
        ON CONFLICT (factory_id, process_code) DO UPDATE SET
            materials = EXCLUDED.materials,
            best_tolerance_um = EXCLUDED.best_tolerance_um,
            max_envelope_mm = EXCLUDED.max_envelope_mm,
            min_lot = EXCLUDED.min_lot,
            max_lot = EXCLUDED.max_lot,
            hours_per_week = EXCLUDED.hours_per_week,
            hourly_rate_jpy = EXCLUDED.hourly_rate_jpy,
            setup_cost_jpy = EXCLUDED.setup_cost_jpy,
            setup_hours = EXCLUDED.setup_hours,
            lead_days = EXCLUDED.lead_days,
            updated_at = now()
        RETURNING {_CAPABILITY_COLUMNS}
        """,
        factory_id,
        process_code,
        list(materials),
        best_tolerance_um,
        max_envelope_mm,
        min_lot,
        max_lot,
        hours_per_week,
        hourly_rate_jpy,
        setup_cost_jpy,
        setup_hours,
        lead_days,
    )
    assert row is not None
    return Capability(**dict(row))


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
    return [Capability(**dict(r)) for r in rows]


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
