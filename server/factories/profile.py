"""Factory profiles: register, change, read and search the registry, and list its clusters.

Every function takes the calling :class:`Principal` first, decides whether it may act, validates (reporting
every problem at once), and writes in one transaction. Who may change a factory is decided in
:mod:`server.factories.rules`.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from server.auth.principal import Principal, Role
from server.catalogue import service as catalogue
from server.db import Connection, Pool, transaction
from server.errors import ErrorCode, NotFound, ValidationFailed, fail
from server.factories import repo, rules
from server.factories.checks import check_number, check_year
from server.pagination import Page, decode_cursor, page_of, page_size
from server.validation import Errors, check_storable, clean_text, is_storable

MAX_NAME = 200
MAX_CITY = 100
MAX_CLUSTER = 100
MAX_DESCRIPTION = 4000
MAX_CERTIFICATIONS = 20


class _Keep(enum.Enum):
    KEEP = "keep"


KEEP = _Keep.KEEP
"""For :func:`update_factory`: leave this field as it is."""


# --- reading ------------------------------------------------------------------------------------------


async def get_factory(pool: Pool, principal: Principal, *, factory_id: UUID) -> repo.Factory:
    """One factory's profile, for any signed-in caller; NOT_FOUND for an unknown id."""
    principal.require_signed_in()
    async with pool.acquire() as conn:
        factory = await repo.factory_by_id(conn, factory_id=factory_id)
    if factory is None or not rules.may_see(principal, factory):
        raise NotFound("No such factory.")
    return factory


async def list_clusters(pool: Pool, principal: Principal) -> list[repo.Cluster]:
    """Every cluster some factory belongs to, with its number of factories; any signed-in caller."""
    principal.require_signed_in()
    async with pool.acquire() as conn:
        return await repo.clusters(conn)


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


async def _search_of(
    conn: Connection, principal: Principal, where: FactoryFilter, *, today: dt.date
) -> repo.FactorySearch:
    """The repository search for a caller's filter; ValidationFailed on ``filter.*`` when it is wrong.

    Every code must name something that exists: a filter on an unknown code would match nothing, and an
    empty page does not tell a typo from a registry without such factories.
    """
    errors = Errors()

    def code(field: str, value: str | None, *, upper: bool = False, lower: bool = False) -> str | None:
        if value is None or not value.strip():
            return None
        cleaned = clean_text(errors, f"filter.{field}", value, max_length=MAX_NAME)
        return cleaned.upper() if upper else cleaned.lower() if lower else cleaned

    process_code = code("processCode", where.process_code, lower=True)
    material = code("material", where.material, upper=True)
    raw_prefecture = code("prefecture", where.prefecture)
    prefecture = catalogue.prefecture_code(raw_prefecture) if raw_prefecture else None
    cluster = code("cluster", where.cluster)
    certification = code("certification", where.certification, upper=True)
    check_number(errors, "filter.toleranceUm", where.tolerance_um, low=0.001, high=10_000)
    if where.certified_on is not None:
        check_year(errors, "filter.certifiedOn", where.certified_on)
    await catalogue.check_codes(
        conn,
        errors,
        processes=_given("filter.processCode", process_code),
        materials=_given("filter.material", material),
        prefectures=_given("filter.prefecture", prefecture),
        certifications=_given("filter.certification", certification),
    )
    if (
        cluster is not None
        and not errors.has("filter.cluster")
        and not await repo.has_cluster(conn, name=cluster)
    ):
        errors.add(
            "filter.cluster",
            ErrorCode.UNKNOWN_CLUSTER,
            f"No factory belongs to a cluster named {cluster!r} (see `clusters`).",
        )
    if errors:
        raise ValidationFailed(errors)
    owner: UUID | None = None
    if where.owned_by_me:
        # Only a person owns factories; for anyone else "mine" is the empty set (no user has the nil id).
        owner = principal.user_id or UUID(int=0)
    approved_only, or_owned_by = rules.registry_visibility(principal)
    return repo.FactorySearch(
        approved_only=approved_only,
        or_owned_by=or_owned_by,
        process_code=process_code,
        material=material,
        max_tolerance_um=Decimal(str(where.tolerance_um)) if where.tolerance_um is not None else None,
        prefecture=prefecture,
        cluster=cluster,
        certification=certification,
        certified_on=(where.certified_on or today) if certification else None,
        owner_user_id=owner,
    )


def _given(field: str, code: str | None) -> dict[str, str]:
    """``{field: code}`` for :func:`catalogue.check_codes`, empty when the filter was not given."""
    return {} if code is None else {field: code}


def _cursor_key(cursor: str) -> tuple[str, UUID]:
    """The (name_en, id) key inside an ``after`` cursor; INVALID when it is not one of ours."""
    name, raw_id = decode_cursor(cursor, length=2)
    try:
        factory_id = UUID(raw_id) if isinstance(raw_id, str) else None
    except ValueError:
        factory_id = None
    if not isinstance(name, str) or factory_id is None or not is_storable(name):
        raise fail("after", ErrorCode.INVALID, "This cursor is not valid.")
    return name, factory_id


async def search_factories(
    pool: Pool,
    principal: Principal,
    *,
    where: FactoryFilter,
    first: int | None,
    after: str | None,
    today: dt.date,
    count: bool = False,
) -> Page[repo.Factory]:
    """A page of the registry in (English name, id) order, for any signed-in caller.

    Filters on a capability (process, material, tolerance) must all hold on the same capability; a
    certification must be valid on ``certifiedOn`` (default ``today``, in Japan). A bad filter, ``after``
    cursor or ``first`` is a ValidationFailed on that argument. With ``count`` (the caller will ask the
    page's ``total_count``) the total is read by the page's own statement instead of a second one.
    """
    principal.require_signed_in()
    limit = page_size(first)
    key = _cursor_key(after) if after is not None else None
    async with pool.acquire() as conn:
        search = await _search_of(conn, principal, where, today=today)
        rows, counted = await repo.search_factories_counted(
            conn, search=search, after=key, limit=limit + 1, count=count
        )

    async def total_count() -> int:
        if counted is not None:
            return counted
        async with pool.acquire() as conn:
            return await repo.count_factories(conn, search=search)

    return page_of(rows, limit=limit, cursor_key=lambda f: [f.name_en, str(f.id)], total_count=total_count)


# --- writing ------------------------------------------------------------------------------------------


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


def _clean_profile(
    errors: Errors,
    *,
    today: dt.date,
    name_ja: str | None,
    name_en: str | None,
    prefecture: str | None,
    city: str | None,
    cluster: str | None,
    employees: int | None,
    founded_year: int | None,
    description: str | None,
) -> _Profile:
    prefecture_code = catalogue.prefecture_code(prefecture or "")
    if not prefecture_code:
        errors.add("prefecture", ErrorCode.REQUIRED, "prefecture is required.")
    check_storable(errors, "prefecture", prefecture_code)
    check_number(errors, "employees", employees, low=1, high=1_000_000)
    check_number(errors, "foundedYear", founded_year, low=1600, high=today.year)
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
        check_year(errors, f"{field}.validUntil", held.valid_until)
        cleaned.append((code, held.valid_until))
    return cleaned


async def _check_profile_codes(
    conn: Connection, errors: Errors, *, prefecture: str | None, certifications: list[tuple[str, dt.date]]
) -> None:
    """UNKNOWN_PREFECTURE / UNKNOWN_CERTIFICATION for codes the catalogue does not have."""
    await catalogue.check_codes(
        conn,
        errors,
        prefectures={"prefecture": prefecture} if prefecture else {},
        certifications={f"certifications.{i}.code": code for i, (code, _) in enumerate(certifications)},
    )


async def register_factory(
    pool: Pool,
    principal: Principal,
    *,
    today: dt.date,
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
    """Register a factory owned by the calling factory owner (who may own several).

    ``today`` (in Japan) bounds the founding year.
    """
    principal.require_role(Role.FACTORY_OWNER)
    assert principal.user_id is not None
    errors = Errors()
    profile = _clean_profile(
        errors,
        today=today,
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
    factory_id: UUID,
    today: dt.date,
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
        current = await rules.factory_to_change(conn, principal, factory_id)
        errors = Errors()
        profile = _clean_profile(
            errors,
            today=today,
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
