"""The factory registry: taxonomy reads, factory profiles, capabilities and weekly capacity.

Every function takes the calling :class:`Principal` first, decides whether it may act, validates (reporting
every problem at once), and writes in one transaction. Two record rules live here and nowhere else:
:func:`may_manage` (who may change a factory) and :func:`may_see_private` (who sees its rates, hours and
capacity).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from server.auth.principal import Principal, Role
from server.db import Connection, Pool, transaction
from server.errors import ErrorCode, Forbidden, NotFound, ValidationFailed, fail
from server.factories import repo
from server.pagination import decode_cursor, encode_cursor, page_size
from server.validation import Errors, check_range, check_storable, clean_text, is_storable, parse_uuid

# Certificates expire and weeks start on the factories' calendar: Japan has one time zone and no DST.
JST = dt.timezone(dt.timedelta(hours=9), "JST")

MAX_NAME = 200
MAX_CITY = 100
MAX_CLUSTER = 100
MAX_DESCRIPTION = 4000
MAX_CERTIFICATIONS = 20
MAX_MATERIALS = 50
MAX_CAPACITY_WEEKS = 260
MAX_CAPACITY_QUERY_WEEKS = 104
DEFAULT_CAPACITY_QUERY_WEEKS = 12
# Dates outside these years are typing mistakes, and far-off ones would overflow date arithmetic.
FIRST_YEAR, LAST_YEAR = 2000, 2100

_HOURS = Decimal("0.01")
_MICRONS = Decimal("0.001")


class _Keep(enum.Enum):
    KEEP = "keep"


KEEP = _Keep.KEEP
"""For :func:`update_factory`: leave this field as it is."""


# --- dates --------------------------------------------------------------------------------------------


def today() -> dt.date:
    """Today in Japan."""
    return dt.datetime.now(JST).date()


def iso_monday(day: dt.date) -> dt.date:
    """The Monday that starts ``day``'s ISO week."""
    return day - dt.timedelta(days=day.weekday())


def iso_week_label(monday: dt.date) -> str:
    """``2026-W48`` for the ISO week starting on ``monday``."""
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def _check_year(errors: Errors, field: str, day: dt.date) -> None:
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        errors.add(field, ErrorCode.OUT_OF_RANGE, f"{field} must be between {FIRST_YEAR} and {LAST_YEAR}.")


# --- rules --------------------------------------------------------------------------------------------


def may_manage(principal: Principal, factory: repo.Factory) -> bool:
    """The one rule for changing a factory: its owner or a coordinator."""
    if principal.is_coordinator:
        return True
    return principal.is_factory_owner and principal.user_id == factory.owner_user_id


def may_see_private(principal: Principal, factory: repo.Factory) -> bool:
    """The one rule for a factory's private figures (hours, rates, setup costs, lead days, capacity).

    Whoever may manage the factory sees them; buyers and other owners see the public profile only.
    """
    return may_manage(principal, factory)


def is_mine(principal: Principal, factory: repo.Factory) -> bool:
    """The caller owns this factory."""
    return principal.user_id is not None and principal.user_id == factory.owner_user_id


def accepts(process: repo.Process, material: repo.Material) -> bool:
    """The process works this material's family (otherwise: MATERIAL_MISMATCH)."""
    return material.family in process.material_families


# --- taxonomy -----------------------------------------------------------------------------------------


async def list_processes(
    pool: Pool, principal: Principal, *, category: str | None = None
) -> list[repo.Process]:
    """The process taxonomy in display order. Open to anyone, anonymous callers included."""
    principal.require_valid()
    async with pool.acquire() as conn:
        return await repo.list_processes(conn, category=category)


async def list_materials(pool: Pool, principal: Principal) -> list[repo.Material]:
    """The materials, by family then code. Open to anyone."""
    principal.require_valid()
    async with pool.acquire() as conn:
        return await repo.list_materials(conn)


async def list_certifications(pool: Pool, principal: Principal) -> list[repo.Certification]:
    """The certifications a factory may hold. Open to anyone."""
    principal.require_valid()
    async with pool.acquire() as conn:
        return await repo.list_certifications(conn)


async def list_prefectures(pool: Pool, principal: Principal) -> list[repo.Prefecture]:
    """The 47 prefectures by JIS X 0401 code. Open to anyone."""
    principal.require_valid()
    async with pool.acquire() as conn:
        return await repo.list_prefectures(conn)


# --- reading factories --------------------------------------------------------------------------------


async def get_factory(pool: Pool, principal: Principal, *, factory_id: str) -> repo.Factory:
    """One factory's profile, for any signed-in caller; NOT_FOUND for unknown or malformed ids."""
    principal.require_signed_in()
    parsed = parse_uuid(factory_id)
    if parsed is None:
        raise NotFound("No such factory.")
    async with pool.acquire() as conn:
        factory = await repo.factory_by_id(conn, factory_id=parsed)
    if factory is None:
        raise NotFound("No such factory.")
    return factory


@dataclass(frozen=True)
class FactoryFilter:
    """What a caller asks of the registry; unset fields do not filter."""

    process_code: str | None = None
    material: str | None = None
    tolerance_um: float | None = None
    prefecture: str | None = None
    cluster: str | None = None
    certification: str | None = None
    certified_on: dt.date | None = None
    owned_by_me: bool = False


@dataclass(frozen=True)
class FactoryPage:
    """One page of the registry: each factory with its cursor, and where the next page starts."""

    edges: list[tuple[str, repo.Factory]]
    has_next_page: bool
    end_cursor: str | None
    search: repo.FactorySearch


def _normalise_prefecture(value: str) -> str:
    """``"13"``, ``" 13 "`` and ``"1"`` → ``"13"`` / ``"01"``; anything else unchanged (and then unknown)."""
    code = value.strip()
    return code.zfill(2) if code.isdigit() and len(code) <= 2 else code


def _search_of(principal: Principal, where: FactoryFilter) -> repo.FactorySearch:
    """The repository search for a caller's filter; ValidationFailed on ``filter.*`` when it is wrong."""
    errors = Errors()

    def text(field: str, value: str | None, *, upper: bool = False, lower: bool = False) -> str | None:
        if value is None or not value.strip():
            return None
        cleaned = clean_text(errors, f"filter.{field}", value, max_length=MAX_NAME)
        return cleaned.upper() if upper else cleaned.lower() if lower else cleaned

    process_code = text("processCode", where.process_code, lower=True)
    material = text("material", where.material, upper=True)
    prefecture = text("prefecture", where.prefecture)
    cluster = text("cluster", where.cluster)
    certification = text("certification", where.certification, upper=True)
    _check_number(errors, "filter.toleranceUm", where.tolerance_um, low=0.001, high=10_000)
    if where.certified_on is not None:
        _check_year(errors, "filter.certifiedOn", where.certified_on)
    if errors:
        raise ValidationFailed(errors)
    owner: UUID | None = None
    if where.owned_by_me:
        # Only a person owns factories; for anyone else "mine" is the empty set (no user has the nil id).
        owner = principal.user_id or UUID(int=0)
    return repo.FactorySearch(
        process_code=process_code,
        material=material,
        max_tolerance_um=Decimal(str(where.tolerance_um)) if where.tolerance_um is not None else None,
        prefecture=_normalise_prefecture(prefecture) if prefecture else None,
        cluster=cluster,
        certification=certification,
        certified_on=(where.certified_on or today()) if certification else None,
        owner_user_id=owner,
    )


def _cursor_key(cursor: str) -> tuple[str, UUID]:
    """The (name_en, id) key inside an ``after`` cursor; INVALID when it is not one of ours."""
    name, raw_id = decode_cursor(cursor, length=2)
    factory_id = parse_uuid(raw_id) if isinstance(raw_id, str) else None
    if not isinstance(name, str) or factory_id is None or not is_storable(name):
        raise fail("after", ErrorCode.INVALID, "This cursor is not valid.")
    return name, factory_id


async def search_factories(
    pool: Pool, principal: Principal, *, where: FactoryFilter, first: int | None, after: str | None
) -> FactoryPage:
    """A page of the registry in (English name, id) order, for any signed-in caller.

    Filters on a capability (process, material, tolerance) must all hold on the same capability. One SQL
    query per page; a bad ``after`` cursor or ``first`` is a ValidationFailed on that argument.
    """
    principal.require_signed_in()
    limit = page_size(first)
    search = _search_of(principal, where)
    key = _cursor_key(after) if after is not None else None
    async with pool.acquire() as conn:
        rows = await repo.search_factories(conn, search=search, after=key, limit=limit + 1)
    edges = [(encode_cursor([f.name_en, str(f.id)]), f) for f in rows[:limit]]
    return FactoryPage(
        edges=edges,
        has_next_page=len(rows) > limit,
        end_cursor=edges[-1][0] if edges else None,
        search=search,
    )


async def count_factories(pool: Pool, principal: Principal, *, search: repo.FactorySearch) -> int:
    """How many factories match a search (all pages)."""
    principal.require_signed_in()
    async with pool.acquire() as conn:
        return await repo.count_factories(conn, search=search)


# --- writing factories --------------------------------------------------------------------------------


@dataclass(frozen=True)
class HeldCertification:
    """A certification a factory holds, and the last day it is valid."""

    code: str
    valid_until: dt.date


@dataclass(frozen=True)
class _Profile:
    name_ja: str
    name_en: str
    prefecture: str
    city: str
    cluster: str | None
    employees: int | None
    founded_year: int | None
    description: str


def _has(errors: Errors, field: str) -> bool:
    """Some error is already reported on ``field``."""
    return any(e.field == field for e in errors)


def _check_number(
    errors: Errors, field: str, value: float | Decimal | None, *, low: float, high: float
) -> None:
    """OUT_OF_RANGE outside [low, high]; NaN and infinities are out of every range."""
    if value is None:
        return
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        errors.add(field, ErrorCode.OUT_OF_RANGE, f"{field} must be a finite number.")
        return
    check_range(errors, field, number, low=low, high=high)


def _clean_profile(
    errors: Errors,
    *,
    name_ja: str | None,
    name_en: str | None,
    prefecture: str | None,
    city: str | None,
    cluster: str | None,
    employees: int | None,
    founded_year: int | None,
    description: str | None,
) -> _Profile:
    prefecture_code = _normalise_prefecture(prefecture or "")
    if not prefecture_code:
        errors.add("prefecture", ErrorCode.REQUIRED, "prefecture is required.")
    check_storable(errors, "prefecture", prefecture_code)
    _check_number(errors, "employees", employees, low=1, high=1_000_000)
    _check_number(errors, "foundedYear", founded_year, low=1600, high=today().year)
    return _Profile(
        name_ja=clean_text(errors, "nameJa", name_ja, max_length=MAX_NAME),
        name_en=clean_text(errors, "nameEn", name_en, max_length=MAX_NAME),
        prefecture=prefecture_code,
        city=clean_text(errors, "city", city, max_length=MAX_CITY),
        cluster=clean_text(errors, "cluster", cluster, max_length=MAX_CLUSTER, required=False) or None,
        employees=employees,
        founded_year=founded_year,
        description=clean_text(
            errors, "description", description, max_length=MAX_DESCRIPTION, required=False
        ),
    )


def _clean_certifications(
    errors: Errors, certifications: Sequence[HeldCertification]
) -> list[tuple[str, dt.date]]:
    if len(certifications) > MAX_CERTIFICATIONS:
        errors.add(
            "certifications", ErrorCode.OUT_OF_RANGE, f"List at most {MAX_CERTIFICATIONS} certifications."
        )
        return []
    cleaned: list[tuple[str, dt.date]] = []
    seen: set[str] = set()
    for i, held in enumerate(certifications):
        field = f"certifications.{i}"
        code = check_storable(errors, f"{field}.code", held.code.strip().upper())
        if code in seen:
            errors.add(f"{field}.code", ErrorCode.INVALID, f"{code} is listed twice.")
        seen.add(code)
        _check_year(errors, f"{field}.validUntil", held.valid_until)
        cleaned.append((code, held.valid_until))
    return cleaned


async def _check_profile_codes(
    conn: Connection, errors: Errors, *, prefecture: str | None, certifications: list[tuple[str, dt.date]]
) -> None:
    """UNKNOWN_PREFECTURE / UNKNOWN_CERTIFICATION for codes the taxonomy does not have."""
    if (
        prefecture
        and not _has(errors, "prefecture")
        and not await repo.prefectures_by_codes(conn, codes=[prefecture])
    ):
        errors.add(
            "prefecture",
            ErrorCode.UNKNOWN_PREFECTURE,
            f"{prefecture!r} is not a JIS prefecture code (01–47).",
        )
    if certifications:
        known = {
            c.code for c in await repo.certifications_by_codes(conn, codes=[c for c, _ in certifications])
        }
        for i, (code, _) in enumerate(certifications):
            if code not in known and not _has(errors, f"certifications.{i}.code"):
                errors.add(
                    f"certifications.{i}.code",
                    ErrorCode.UNKNOWN_CERTIFICATION,
                    f"{code!r} is not a known certification.",
                )


async def _factory_for_change(conn: Connection, principal: Principal, factory_id: UUID | str) -> repo.Factory:
    """The factory, locked for this transaction; NOT_FOUND when unknown, FORBIDDEN when not the caller's.

    Factory profiles are visible to every signed-in caller, so telling "not yours" from "no such" reveals
    nothing; FORBIDDEN is the more useful answer.
    """
    parsed = factory_id if isinstance(factory_id, UUID) else parse_uuid(factory_id)
    factory = await repo.factory_by_id(conn, factory_id=parsed, for_update=True) if parsed else None
    if factory is None:
        raise NotFound("No such factory.")
    if not may_manage(principal, factory):
        raise Forbidden("Only the factory's owner or a coordinator may change it.")
    return factory


async def register_factory(
    pool: Pool,
    principal: Principal,
    *,
    name_ja: str,
    name_en: str,
    prefecture: str,
    city: str,
    cluster: str | None = None,
    employees: int | None = None,
    founded_year: int | None = None,
    description: str | None = None,
    certifications: Sequence[HeldCertification] = (),
) -> repo.Factory:
    """Register a factory owned by the calling factory owner (who may own several)."""
    principal.require_role(Role.FACTORY_OWNER)
    assert principal.user_id is not None
    errors = Errors()
    profile = _clean_profile(
        errors,
        name_ja=name_ja,
        name_en=name_en,
        prefecture=prefecture,
        city=city,
        cluster=cluster,
        employees=employees,
        founded_year=founded_year,
        description=description,
    )
    held = _clean_certifications(errors, certifications)
    async with transaction(pool) as conn:
        await _check_profile_codes(conn, errors, prefecture=profile.prefecture, certifications=held)
        if errors:
            raise ValidationFailed(errors)
        factory = await repo.create_factory(conn, owner_user_id=principal.user_id, **vars(profile))
        await repo.replace_factory_certifications(conn, factory_id=factory.id, certifications=held)
        return factory


async def update_factory(
    pool: Pool,
    principal: Principal,
    *,
    factory_id: UUID | str,
    name_ja: str | _Keep | None = KEEP,
    name_en: str | _Keep | None = KEEP,
    prefecture: str | _Keep | None = KEEP,
    city: str | _Keep | None = KEEP,
    cluster: str | _Keep | None = KEEP,
    employees: int | _Keep | None = KEEP,
    founded_year: int | _Keep | None = KEEP,
    description: str | _Keep | None = KEEP,
    certifications: Sequence[HeldCertification] | _Keep = KEEP,
) -> repo.Factory:
    """Change a factory's profile: its owner or a coordinator.

    Fields left at ``KEEP`` stay as they are; None clears an optional field (and is REQUIRED for a required
    one); ``certifications``, when given, replaces the whole set.
    """
    principal.require_role(Role.FACTORY_OWNER, Role.COORDINATOR)
    async with transaction(pool) as conn:
        current = await _factory_for_change(conn, principal, factory_id)
        errors = Errors()
        profile = _clean_profile(
            errors,
            name_ja=current.name_ja if name_ja is KEEP else name_ja,
            name_en=current.name_en if name_en is KEEP else name_en,
            prefecture=current.prefecture if prefecture is KEEP else prefecture,
            city=current.city if city is KEEP else city,
            cluster=current.cluster if cluster is KEEP else cluster,
            employees=current.employees if employees is KEEP else employees,
            founded_year=current.founded_year if founded_year is KEEP else founded_year,
            description=current.description if description is KEEP else description,
        )
        held = None if certifications is KEEP else _clean_certifications(errors, certifications)
        await _check_profile_codes(
            conn,
            errors,
            prefecture=None if prefecture is KEEP else profile.prefecture,
            certifications=held or [],
        )
        if errors:
            raise ValidationFailed(errors)
        factory = await repo.update_factory(conn, factory_id=current.id, **vars(profile))
        if held is not None:
            await repo.replace_factory_certifications(conn, factory_id=factory.id, certifications=held)
        return factory


# --- capabilities -------------------------------------------------------------------------------------


def _clean_code(errors: Errors, field: str, value: str, *, upper: bool) -> str:
    code = value.strip()
    code = code.upper() if upper else code.lower()
    if not code:
        errors.add(field, ErrorCode.REQUIRED, f"{field} is required.")
    elif len(code) > 40:
        errors.add(field, ErrorCode.TOO_LONG, f"{field} is at most 40 characters.")
    return check_storable(errors, field, code)


async def _known_process(conn: Connection, errors: Errors, process_code: str) -> repo.Process | None:
    """The process, or None after reporting UNKNOWN_PROCESS (or nothing, when the code was already bad)."""
    if _has(errors, "processCode"):
        return None
    found = await repo.processes_by_codes(conn, codes=[process_code])
    if not found:
        errors.add("processCode", ErrorCode.UNKNOWN_PROCESS, f"{process_code!r} is not a known process.")
        return None
    return found[0]


async def upsert_capability(
    pool: Pool,
    principal: Principal,
    *,
    factory_id: UUID | str,
    process_code: str,
    materials: Sequence[str],
    best_tolerance_um: float | Decimal,
    max_envelope_mm: int,
    min_lot: int = 1,
    max_lot: int,
    hours_per_week: float | Decimal,
    hourly_rate_jpy: int,
    setup_cost_jpy: int = 0,
    setup_hours: float | Decimal = 0,
    lead_days: int,
) -> repo.Capability:
    """Declare (or replace) what a factory can do with one process: its owner or a coordinator.

    Every material must be known and of a family the process accepts; lot range, precision, hours and rates
    must be in range. Existing capacity overrides of the capability are kept.
    """
    principal.require_role(Role.FACTORY_OWNER, Role.COORDINATOR)
    errors = Errors()
    process_code = _clean_code(errors, "processCode", process_code, upper=False)
    codes: list[str] = []
    if not materials:
        errors.add("materials", ErrorCode.REQUIRED, "List at least one material.")
    elif len(materials) > MAX_MATERIALS:
        errors.add("materials", ErrorCode.OUT_OF_RANGE, f"List at most {MAX_MATERIALS} materials.")
    else:
        codes = [_clean_code(errors, f"materials.{i}", m, upper=True) for i, m in enumerate(materials)]
    _check_number(errors, "bestToleranceUm", best_tolerance_um, low=0.001, high=10_000)
    _check_number(errors, "maxEnvelopeMm", max_envelope_mm, low=1, high=100_000)
    _check_number(errors, "minLot", min_lot, low=1, high=10_000_000)
    _check_number(errors, "maxLot", max_lot, low=1, high=10_000_000)
    if not _has(errors, "minLot") and not _has(errors, "maxLot") and min_lot > max_lot:
        errors.add("maxLot", ErrorCode.OUT_OF_RANGE, f"maxLot must be at least minLot ({min_lot}).")
    _check_number(errors, "hoursPerWeek", hours_per_week, low=0, high=168)
    _check_number(errors, "hourlyRateJpy", hourly_rate_jpy, low=1, high=1_000_000)
    _check_number(errors, "setupCostJpy", setup_cost_jpy, low=0, high=100_000_000)
    _check_number(errors, "setupHours", setup_hours, low=0, high=1_000)
    _check_number(errors, "leadDays", lead_days, low=0, high=365)
    async with transaction(pool) as conn:
        factory = await _factory_for_change(conn, principal, factory_id)
        process = await _known_process(conn, errors, process_code)
        known = {m.code: m for m in await repo.materials_by_codes(conn, codes=codes)} if codes else {}
        for i, code in enumerate(codes):
            field = f"materials.{i}"
            if _has(errors, field):
                continue
            material = known.get(code)
            if material is None:
                errors.add(field, ErrorCode.UNKNOWN_MATERIAL, f"{code!r} is not a known material.")
            elif process is not None and not accepts(process, material):
                errors.add(
                    field,
                    ErrorCode.MATERIAL_MISMATCH,
                    f"{process.name_en} does not work {material.family} materials such as {code}.",
                )
        if errors:
            raise ValidationFailed(errors)
        return await repo.upsert_capability(
            conn,
            factory_id=factory.id,
            process_code=process_code,
            materials=list(dict.fromkeys(codes)),
            best_tolerance_um=Decimal(str(best_tolerance_um)).quantize(_MICRONS),
            max_envelope_mm=max_envelope_mm,
            min_lot=min_lot,
            max_lot=max_lot,
            hours_per_week=Decimal(str(hours_per_week)).quantize(_HOURS),
            hourly_rate_jpy=hourly_rate_jpy,
            setup_cost_jpy=setup_cost_jpy,
            setup_hours=Decimal(str(setup_hours)).quantize(_HOURS),
            lead_days=lead_days,
        )


async def remove_capability(
    pool: Pool, principal: Principal, *, factory_id: UUID | str, process_code: str
) -> repo.Factory:
    """Remove one of a factory's capabilities, with its capacity overrides: its owner or a coordinator."""
    principal.require_role(Role.FACTORY_OWNER, Role.COORDINATOR)
    errors = Errors()
    process_code = _clean_code(errors, "processCode", process_code, upper=False)
    async with transaction(pool) as conn:
        factory = await _factory_for_change(conn, principal, factory_id)
        process = await _known_process(conn, errors, process_code)
        if process is not None and not await repo.delete_capability(
            conn, factory_id=factory.id, process_code=process_code
        ):
            errors.add(
                "processCode", ErrorCode.NOT_FOUND, f"This factory has no {process.name_en} capability."
            )
        if errors:
            raise ValidationFailed(errors)
        return factory


# --- capacity -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CapacityWeek:
    """Free hours of one capability in one ISO week: an override, or the capability's hours per week."""

    factory_id: UUID
    process_code: str
    week_start: dt.date
    hours: Decimal
    is_override: bool


def capacity_grid(
    capabilities: Iterable[repo.Capability],
    overrides: Iterable[repo.CapacityOverride],
    *,
    week_from: dt.date,
    weeks: int,
) -> list[CapacityWeek]:
    """Every capability × week from ``week_from`` (a Monday) on: the override where there is one."""
    by_key = {(o.factory_id, o.process_code, o.week_start): o.hours for o in overrides}
    grid: list[CapacityWeek] = []
    for cap in capabilities:
        for n in range(weeks):
            week = week_from + dt.timedelta(weeks=n)
            hours = by_key.get((cap.factory_id, cap.process_code, week))
            grid.append(
                CapacityWeek(
                    factory_id=cap.factory_id,
                    process_code=cap.process_code,
                    week_start=week,
                    hours=cap.hours_per_week if hours is None else hours,
                    is_override=hours is not None,
                )
            )
    return grid


def capacity_window(
    from_week: dt.date | None, weeks: int = DEFAULT_CAPACITY_QUERY_WEEKS
) -> tuple[dt.date, int]:
    """Check a capacity query's window: (its first Monday, number of weeks); default start: this week."""
    errors = Errors()
    monday = iso_monday(from_week or today())
    _check_year(errors, "fromWeek", monday)
    _check_number(errors, "weeks", weeks, low=1, high=MAX_CAPACITY_QUERY_WEEKS)
    if errors:
        raise ValidationFailed(errors)
    return monday, weeks


async def capacity_of(
    conn: Connection, *, factory_ids: Sequence[UUID], week_from: dt.date, weeks: int
) -> list[CapacityWeek]:
    """Free hours per factory × process × ISO week, for the solver and other services that already
    decided the caller may see them. ``week_from`` must be a Monday."""
    capabilities = await repo.capabilities_by_factory_ids(conn, factory_ids=factory_ids)
    week_to = week_from + dt.timedelta(weeks=weeks)
    overrides = await repo.capacity_overrides(conn, ranges=[(f, week_from, week_to) for f in factory_ids])
    return capacity_grid(capabilities, overrides, week_from=week_from, weeks=weeks)


async def set_capacity(
    pool: Pool,
    principal: Principal,
    *,
    factory_id: UUID | str,
    process_code: str,
    weeks: Sequence[tuple[dt.date, float | Decimal | None]],
) -> list[CapacityWeek]:
    """Set the free hours of one capability for some ISO weeks: its owner or a coordinator.

    Each date stands for its ISO week (any day is moved back to that week's Monday); ``None`` hours remove
    the override, so the week falls back to the capability's hours per week. Past weeks cannot be set.
    Returns the resulting hours of the given weeks, in week order.
    """
    principal.require_role(Role.FACTORY_OWNER, Role.COORDINATOR)
    errors = Errors()
    process_code = _clean_code(errors, "processCode", process_code, upper=False)
    if not weeks:
        errors.add("weeks", ErrorCode.REQUIRED, "List at least one week.")
    elif len(weeks) > MAX_CAPACITY_WEEKS:
        errors.add("weeks", ErrorCode.OUT_OF_RANGE, f"List at most {MAX_CAPACITY_WEEKS} weeks.")
    this_week = iso_monday(today())
    cleaned: dict[dt.date, Decimal | None] = {}
    for i, (day, hours) in enumerate(weeks[:MAX_CAPACITY_WEEKS]):
        monday = iso_monday(day)
        field = f"weeks.{i}"
        _check_year(errors, f"{field}.weekStart", day)
        if monday < this_week:
            errors.add(f"{field}.weekStart", ErrorCode.DATE_IN_PAST, "Past weeks cannot be changed.")
        elif monday in cleaned:
            errors.add(
                f"{field}.weekStart", ErrorCode.INVALID, f"Week {iso_week_label(monday)} is listed twice."
            )
        _check_number(errors, f"{field}.hours", hours, low=0, high=168)
        cleaned[monday] = hours if hours is None else Decimal(str(hours))
    async with transaction(pool) as conn:
        factory = await _factory_for_change(conn, principal, factory_id)
        process = await _known_process(conn, errors, process_code)
        capability = (
            await repo.capability(conn, factory_id=factory.id, process_code=process_code) if process else None
        )
        if process is not None and capability is None:
            errors.add(
                "processCode", ErrorCode.NOT_FOUND, f"This factory has no {process.name_en} capability."
            )
        if errors:
            raise ValidationFailed(errors)
        assert capability is not None
        await repo.set_capacity_weeks(
            conn,
            factory_id=factory.id,
            process_code=process_code,
            hours_by_week=[
                (w, None if h is None else h.quantize(_HOURS)) for w, h in sorted(cleaned.items())
            ],
        )
        first, last = min(cleaned), max(cleaned)
        span = (last - first).days // 7 + 1
        overrides = await repo.capacity_overrides(
            conn, ranges=[(factory.id, first, last + dt.timedelta(weeks=1))]
        )
        grid = capacity_grid([capability], overrides, week_from=first, weeks=span)
        return [week for week in grid if week.week_start in cleaned]
