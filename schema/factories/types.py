"""GraphQL types of the factories domain: factories, their certifications, capabilities and capacity."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated, cast

import strawberry

from schema.catalogue.types import Prefecture, Process, prefecture_of, process_of
from schema.context import Info
from schema.executor import preloaded
from schema.factories import loaders
from schema.ids import to_id
from schema.pagination import Connection
from server.catalogue.taxonomy import Taxonomy
from server.clock import iso_week_label
from server.factories import capacity as factory_capacity
from server.factories import repo, rules


@strawberry.type(description="A certification held by a factory.")
class FactoryCertification:
    code: str = strawberry.field(description="Certification code, e.g. `ISO9001`.")
    name: str = strawberry.field(description="Full name.")
    valid_until: dt.date = strawberry.field(description="Last day the certificate is valid.")
    is_valid: bool = strawberry.field(description="Valid today (Japan time).")

    @classmethod
    def from_row(cls, row: repo.FactoryCertification, *, today: dt.date) -> FactoryCertification:
        """``today``: the request's day in Japan, which decides ``isValid``."""
        return cls(
            code=row.code, name=row.name, valid_until=row.valid_until, is_valid=row.valid_until >= today
        )


_PRIVATE = " Private: null unless the caller owns the factory or is a coordinator."


@strawberry.type(description="What a factory can do with one process.")
class Capability:
    process_code: str = strawberry.field(description="Code of the process.")
    materials: list[str] = strawberry.field(description="Codes of the materials it works with this process.")
    best_tolerance_um: float = strawberry.field(description="Finest tolerance it holds, in µm (±).")
    max_envelope_mm: int = strawberry.field(description="Largest part dimension it takes, in mm.")
    min_lot: int = strawberry.field(description="Smallest lot it accepts.")
    max_lot: int = strawberry.field(description="Largest lot it accepts.")
    hours_per_week: float | None = strawberry.field(
        description="Machine hours per week it usually has free." + _PRIVATE
    )
    hourly_rate_jpy: int | None = strawberry.field(description="Hourly rate in JPY." + _PRIVATE)
    setup_cost_jpy: int | None = strawberry.field(description="Cost of one setup in JPY." + _PRIVATE)
    setup_hours: float | None = strawberry.field(description="Hours of one setup." + _PRIVATE)
    lead_days: int | None = strawberry.field(description="Standard lead time in days." + _PRIVATE)
    process: Process = strawberry.field(description="The process.")

    @classmethod
    def from_row(
        cls, row: repo.Capability | repo.CapabilityListing, *, private: bool, taxonomy: Taxonomy
    ) -> Capability:
        """``private``: the caller may see rates, hours and costs (:func:`rules.may_see_private`)."""
        return cls(
            process=process_of(taxonomy, row.process_code),
            process_code=row.process_code,
            materials=list(row.materials),
            best_tolerance_um=float(row.best_tolerance_um),
            max_envelope_mm=row.max_envelope_mm,
            min_lot=row.min_lot,
            max_lot=row.max_lot,
            hours_per_week=float(row.hours_per_week) if private else None,
            hourly_rate_jpy=row.hourly_rate_jpy if private else None,
            setup_cost_jpy=row.setup_cost_jpy if private else None,
            setup_hours=float(row.setup_hours) if private else None,
            lead_days=row.lead_days if private else None,
        )


@strawberry.type(description="Free machine hours of one capability in one ISO week.")
class CapacityWeek:
    process_code: str = strawberry.field(description="Code of the process.")
    week_start: dt.date = strawberry.field(description="Monday that starts the ISO week.")
    iso_week: str = strawberry.field(description="The ISO week, e.g. `2026-W48`.")
    hours: float = strawberry.field(
        description="Free hours that week: `capacityHours` − `bookedHours`, at least 0."
    )
    capacity_hours: float = strawberry.field(
        description="Hours the capability has that week (the override, or its hours per week), "
        "before bookings."
    )
    booked_hours: float = strawberry.field(description="Hours booked that week by awarded RFQs.")
    is_override: bool = strawberry.field(
        description="True when set for this week; false when it is the capability's hours per week."
    )
    process: Process = strawberry.field(description="The process.")

    @classmethod
    def from_row(cls, row: factory_capacity.CapacityWeek, *, taxonomy: Taxonomy) -> CapacityWeek:
        return cls(
            process=process_of(taxonomy, row.process_code),
            process_code=row.process_code,
            week_start=row.week_start,
            iso_week=iso_week_label(row.week_start),
            hours=float(row.hours),
            capacity_hours=float(row.capacity),
            booked_hours=float(row.booked),
            is_override=row.is_override,
        )


@strawberry.enum(description="Where a factory's registration stands with the cluster office.")
class FactoryApprovalStatus(enum.Enum):
    PENDING = strawberry.enum_value("pending", description="Registered; waits for a coordinator's review.")
    APPROVED = strawberry.enum_value(
        "approved", description="Vetted by the cluster office: listed, sees RFQs, may bid."
    )
    REJECTED = strawberry.enum_value("rejected", description="Not admitted; `approvalNote` says why.")


@strawberry.type(
    description="A town factory (町工場). Its public profile is visible to every signed-in caller once the "
    "cluster office approved it; until then only to its owner and coordinators."
)
class Factory:
    id: strawberry.ID = strawberry.field(description="Stable identifier.")
    name_ja: str = strawberry.field(description="Name in Japanese.")
    name_en: str = strawberry.field(description="Name in English; the registry is sorted by it.")
    city: str = strawberry.field(description="City or ward in Japanese, e.g. `大田区` or `東大阪市`.")
    cluster: str | None = strawberry.field(
        description="Industrial cluster it belongs to, e.g. `Ota`, `Higashiosaka`, `Tsubame-Sanjo`."
    )
    employees: int | None = strawberry.field(description="Number of employees.")
    founded_year: int | None = strawberry.field(description="Year it was founded.")
    description: str = strawberry.field(description="Free text about the factory.")
    updated_at: dt.datetime = strawberry.field(description="When its profile last changed.")
    row: strawberry.Private[repo.Factory]
    # Set by a page's resolver, which loads the lists of all its factories in one query each
    # (:func:`with_details`); otherwise each factory loads its own through the request's DataLoaders.
    # The fields below return them unchanged (``preloaded``): the fast executor reads them itself.
    loaded_certifications: strawberry.Private[list[FactoryCertification] | None] = None
    loaded_capabilities: strawberry.Private[list[Capability] | None] = None
    loaded_prefecture: strawberry.Private[Prefecture | None] = None

    @classmethod
    def from_row(cls, row: repo.Factory) -> Factory:
        return cls(
            id=to_id(row.id),
            name_ja=row.name_ja,
            name_en=row.name_en,
            city=row.city,
            cluster=row.cluster,
            employees=row.employees,
            founded_year=row.founded_year,
            description=row.description,
            updated_at=row.updated_at,
            row=row,
        )

    @strawberry.field(description="Its prefecture.")
    @preloaded("loaded_prefecture")
    def prefecture(self, info: Info) -> Prefecture:
        if self.loaded_prefecture is not None:
            return self.loaded_prefecture
        return prefecture_of(info.context.taxonomy, self.row.prefecture)

    # The two lists below: a plain value when the page loaded them, else an awaitable that graphql-core
    # awaits (a synchronous resolver may return one): no coroutine per factory on the page's path.
    @strawberry.field(description="Certifications it holds, expired ones included (see `isValid`).")
    @preloaded("loaded_certifications")
    def certifications(self, info: Info) -> list[FactoryCertification]:
        if self.loaded_certifications is not None:
            return self.loaded_certifications
        return cast(list[FactoryCertification], self._load_certifications(info))

    async def _load_certifications(self, info: Info) -> list[FactoryCertification]:
        rows = await info.context.loader(loaders.certifications_by_factory).load(self.row.id)
        return certifications_of(rows, today=info.context.today())

    @strawberry.field(description="What it can do, one entry per process, in taxonomy order.")
    @preloaded("loaded_capabilities")
    def capabilities(self, info: Info) -> list[Capability]:
        if self.loaded_capabilities is not None:
            return self.loaded_capabilities
        return cast(list[Capability], self._load_capabilities(info))

    async def _load_capabilities(self, info: Info) -> list[Capability]:
        rows = await info.context.loader(loaders.capability_listings_by_factory).load(self.row.id)
        return capabilities_of(rows, info, self.row)

    @strawberry.field(description="True when the caller owns this factory.")
    def is_mine(self, info: Info) -> bool:
        return rules.is_mine(info.context.principal, self.row)

    @strawberry.field(description="Where its registration stands (`APPROVED` for every factory others see).")
    def approval_status(self) -> FactoryApprovalStatus:
        return FactoryApprovalStatus(self.row.approval_status)

    @strawberry.field(
        description="The coordinator's note on the review, e.g. why it was rejected; null for other callers "
        "than the owner and coordinators."
    )
    def approval_note(self, info: Info) -> str | None:
        return self.row.approval_note if rules.may_manage(info.context.principal, self.row) else None

    @strawberry.field(
        description="Free hours per capability × ISO week: an override set with `capacitySet`, or the "
        "capability's hours per week, less the hours booked by awards." + _PRIVATE
    )
    async def capacity(
        self,
        info: Info,
        from_week: Annotated[
            dt.date | None,
            strawberry.argument(description="Any day of the first ISO week; default: the current week."),
        ] = None,
        weeks: Annotated[
            int, strawberry.argument(description="How many weeks, 1 to 104.")
        ] = factory_capacity.DEFAULT_CAPACITY_QUERY_WEEKS,
    ) -> list[CapacityWeek] | None:
        if not rules.may_see_private(info.context.principal, self.row):
            return None
        week_from, count = factory_capacity.capacity_window(from_week, weeks, today=info.context.today())
        week_to = week_from + dt.timedelta(weeks=count)
        capabilities = await info.context.loader(loaders.capabilities_by_factory).load(self.row.id)
        overrides = await info.context.loader(loaders.capacity_overrides_by_range).load(
            (self.row.id, week_from, week_to)
        )
        bookings = await info.context.loader(loaders.capacity_bookings_by_range).load(
            (self.row.id, week_from, week_to)
        )
        grid = factory_capacity.capacity_grid(
            capabilities, overrides, week_from=week_from, weeks=count, bookings=bookings
        )
        taxonomy = info.context.taxonomy
        return [CapacityWeek.from_row(w, taxonomy=taxonomy) for w in grid]


def certifications_of(rows: list[repo.FactoryCertification], *, today: dt.date) -> list[FactoryCertification]:
    return [FactoryCertification.from_row(r, today=today) for r in rows]


def capabilities_of(
    rows: list[repo.CapabilityListing], info: Info, factory: repo.Factory
) -> list[Capability]:
    """A factory's capabilities as the caller may see them (private figures: `rules.may_see_private`), in
    taxonomy order (the process's ``sort_order``, then its code): the query returns them unordered."""
    private = rules.may_see_private(info.context.principal, factory)
    taxonomy = info.context.taxonomy
    processes = taxonomy.processes
    ordered = sorted(rows, key=lambda r: (processes[r.process_code].sort_order, r.process_code))
    return [Capability.from_row(r, private=private, taxonomy=taxonomy) for r in ordered]


async def with_details(info: Info, factories: list[Factory], *, selected: set[str]) -> list[Factory]:
    """``factories`` (one page) with the lists the query ``selected`` loaded for all of them at once: one
    query per list, instead of one DataLoader call per factory. Visibility is the rows' own: the page's
    service returned only factories the caller may see, and private figures follow the same rule."""
    ids = [f.row.id for f in factories]
    if not ids:
        return factories
    if "prefecture" in selected:
        taxonomy = info.context.taxonomy
        for factory in factories:
            factory.loaded_prefecture = prefecture_of(taxonomy, factory.row.prefecture)
    if "certifications" in selected:
        today = info.context.today()
        certifications = await loaders.certifications_by_factory(info.context.pool, ids)
        for factory, rows in zip(factories, certifications, strict=True):
            factory.loaded_certifications = certifications_of(rows, today=today)
    if "capabilities" in selected:
        capabilities = await loaders.capability_listings_by_factory(info.context.pool, ids)
        for factory, capability_rows in zip(factories, capabilities, strict=True):
            factory.loaded_capabilities = capabilities_of(capability_rows, info, factory.row)
    return factories


FactoryConnection = Connection[Factory]
"""A page of factories (named ``FactoryConnection`` in the schema)."""


@strawberry.type(description="An industrial cluster and how many registered factories belong to it.")
class Cluster:
    name: str = strawberry.field(
        description="Its name as factories give it, e.g. `Ota`; use it in `filter.cluster`."
    )
    factory_count: int = strawberry.field(description="How many registered factories belong to it.")

    @classmethod
    def from_row(cls, row: repo.Cluster) -> Cluster:
        return cls(name=row.name, factory_count=row.factory_count)
