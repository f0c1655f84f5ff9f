"""GraphQL types of the factories domain: taxonomy, factories, capabilities, capacity."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated

import strawberry
from strawberry.relay import PageInfo

from schema.context import Info
from schema.factories import loaders
from server.factories import repo, service


@strawberry.enum(description="A family of materials; each process accepts some families.")
class MaterialFamily(enum.Enum):
    METAL = strawberry.enum_value(
        "metal", description="Steels, stainless, aluminium, copper alloys, titanium …"
    )
    PLASTIC = strawberry.enum_value("plastic", description="Engineering plastics (POM, PEEK, PA66 …).")
    CERAMIC = strawberry.enum_value("ceramic", description="Technical ceramics (alumina, zirconia).")
    COMPOSITE = strawberry.enum_value("composite", description="Fibre-reinforced plastics (CFRP, GFRP).")
    RUBBER = strawberry.enum_value("rubber", description="Elastomers (NBR, FKM).")


@strawberry.enum(description="The category a process belongs to.")
class ProcessCategory(enum.Enum):
    PRECISION_MACHINING = strawberry.enum_value("precision_machining", description="精密切削・研削.")
    SMALL_LOT_PROTOTYPING = strawberry.enum_value("small_lot_prototyping", description="試作・小ロット.")
    HIGH_PRECISION_MASS_PRODUCTION = strawberry.enum_value(
        "high_precision_mass_production", description="高精度量産."
    )
    MICRO_ASSEMBLY = strawberry.enum_value("micro_assembly", description="精密組立.")
    ADVANCED_MACHINING = strawberry.enum_value("advanced_machining", description="特殊加工 (EDM, laser …).")
    SHEET_METAL = strawberry.enum_value("sheet_metal", description="板金.")
    FORMING_FORGING = strawberry.enum_value("forming_forging", description="塑性加工・鍛造.")
    CASTING = strawberry.enum_value("casting", description="鋳造.")
    MOULDING = strawberry.enum_value("moulding", description="成形 (plastics, rubber).")
    HEAT_TREATMENT = strawberry.enum_value("heat_treatment", description="熱処理.")
    SURFACE_TREATMENT = strawberry.enum_value("surface_treatment", description="表面処理.")
    ADDITIVE = strawberry.enum_value("additive", description="積層造形 (3D printing).")
    INSPECTION = strawberry.enum_value("inspection", description="検査.")


@strawberry.type(description="A Japanese prefecture (JIS X 0401).")
class Prefecture:
    code: str = strawberry.field(description="Two-digit JIS X 0401 code, `01` (Hokkaido) to `47` (Okinawa).")
    name_ja: str = strawberry.field(description="Name in Japanese, e.g. `東京都`.")
    name_en: str = strawberry.field(description="Name in English, e.g. `Tokyo`.")

    @classmethod
    def from_row(cls, row: repo.Prefecture) -> Prefecture:
        return cls(code=row.code, name_ja=row.name_ja, name_en=row.name_en)


@strawberry.type(description="A material, by its JIS or common trade designation.")
class Material:
    code: str = strawberry.field(
        description="Designation used everywhere in the API, e.g. `SUS304`, `A6061`."
    )
    name_ja: str = strawberry.field(description="Name in Japanese.")
    name_en: str = strawberry.field(description="Name in English.")
    family: MaterialFamily = strawberry.field(description="Its family, which decides the processes for it.")

    @classmethod
    def from_row(cls, row: repo.Material) -> Material:
        return cls(code=row.code, name_ja=row.name_ja, name_en=row.name_en, family=MaterialFamily(row.family))


@strawberry.type(description="A manufacturing process of the taxonomy.")
class Process:
    code: str = strawberry.field(description="Stable code used in capabilities and RFQ routings.")
    name_ja: str = strawberry.field(description="Name in Japanese, e.g. `5軸加工`.")
    name_en: str = strawberry.field(description="Name in English, e.g. `5-axis machining`.")
    category: ProcessCategory = strawberry.field(description="Its category.")
    material_families: list[MaterialFamily] = strawberry.field(
        description="Material families it accepts; other materials are a `MATERIAL_MISMATCH`."
    )

    @classmethod
    def from_row(cls, row: repo.Process) -> Process:
        return cls(
            code=row.code,
            name_ja=row.name_ja,
            name_en=row.name_en,
            category=ProcessCategory(row.category),
            material_families=[MaterialFamily(f) for f in row.material_families],
        )


@strawberry.type(description="A certification a factory may hold.")
class Certification:
    code: str = strawberry.field(description="Stable code, e.g. `ISO9001`, `JISQ9100`.")
    name: str = strawberry.field(description="Full name.")

    @classmethod
    def from_row(cls, row: repo.Certification) -> Certification:
        return cls(code=row.code, name=row.name)


@strawberry.type(description="A certification held by a factory.")
class FactoryCertification:
    code: str = strawberry.field(description="Certification code, e.g. `ISO9001`.")
    name: str = strawberry.field(description="Full name.")
    valid_until: dt.date = strawberry.field(description="Last day the certificate is valid.")
    is_valid: bool = strawberry.field(description="Valid today (Japan time).")

    @classmethod
    def from_row(cls, row: repo.FactoryCertification) -> FactoryCertification:
        return cls(
            code=row.code,
            name=row.name,
            valid_until=row.valid_until,
            is_valid=row.valid_until >= service.today(),
        )


async def _process(info: Info, code: str) -> Process:
    row = await info.context.loader(loaders.processes_by_code).load(code)
    assert row is not None  # a foreign key
    return Process.from_row(row)


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

    @strawberry.field(description="The process.")
    async def process(self, info: Info) -> Process:
        return await _process(info, self.process_code)

    @classmethod
    def from_row(cls, row: repo.Capability, *, private: bool) -> Capability:
        """``private``: the caller may see rates, hours and costs (:func:`service.may_see_private`)."""
        return cls(
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
    hours: float = strawberry.field(description="Free hours that week.")
    is_override: bool = strawberry.field(
        description="True when set for this week; false when it is the capability's hours per week."
    )

    @strawberry.field(description="The process.")
    async def process(self, info: Info) -> Process:
        return await _process(info, self.process_code)

    @classmethod
    def from_value(cls, week: service.CapacityWeek) -> CapacityWeek:
        return cls(
            process_code=week.process_code,
            week_start=week.week_start,
            iso_week=service.iso_week_label(week.week_start),
            hours=float(week.hours),
            is_override=week.is_override,
        )


@strawberry.type(
    description="A town factory (町工場). Its public profile is visible to every signed-in caller."
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

    @classmethod
    def from_row(cls, row: repo.Factory) -> Factory:
        return cls(
            id=strawberry.ID(str(row.id)),
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
    async def prefecture(self, info: Info) -> Prefecture:
        row = await info.context.loader(loaders.prefectures_by_code).load(self.row.prefecture)
        assert row is not None  # a foreign key
        return Prefecture.from_row(row)

    @strawberry.field(description="Certifications it holds, expired ones included (see `isValid`).")
    async def certifications(self, info: Info) -> list[FactoryCertification]:
        rows = await info.context.loader(loaders.certifications_by_factory).load(self.row.id)
        return [FactoryCertification.from_row(r) for r in rows]

    @strawberry.field(description="What it can do, one entry per process, in taxonomy order.")
    async def capabilities(self, info: Info) -> list[Capability]:
        private = service.may_see_private(info.context.principal, self.row)
        rows = await info.context.loader(loaders.capabilities_by_factory).load(self.row.id)
        return [Capability.from_row(r, private=private) for r in rows]

    @strawberry.field(description="True when the caller owns this factory.")
    def is_mine(self, info: Info) -> bool:
        return service.is_mine(info.context.principal, self.row)

    @strawberry.field(
        description="Free hours per capability × ISO week: an override set with `capacitySet`, or the "
        "capability's hours per week." + _PRIVATE
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
        ] = service.DEFAULT_CAPACITY_QUERY_WEEKS,
    ) -> list[CapacityWeek] | None:
        if not service.may_see_private(info.context.principal, self.row):
            return None
        week_from, count = service.capacity_window(from_week, weeks)
        week_to = week_from + dt.timedelta(weeks=count)
        capabilities = await info.context.loader(loaders.capabilities_by_factory).load(self.row.id)
        overrides = await info.context.loader(loaders.capacity_overrides_by_range).load(
            (self.row.id, week_from, week_to)
        )
        grid = service.capacity_grid(capabilities, overrides, week_from=week_from, weeks=count)
        return [CapacityWeek.from_value(w) for w in grid]


@strawberry.type(description="A factory in a page of results, with the cursor to continue after it.")
class FactoryEdge:
    cursor: str = strawberry.field(description="Pass as `after` to get the factories after this one.")
    node: Factory = strawberry.field(description="The factory.")


@strawberry.type(description="A page of factories, in order of English name.")
class FactoryConnection:
    edges: list[FactoryEdge] = strawberry.field(description="The factories of this page.")
    page_info: PageInfo = strawberry.field(description="Whether more pages follow, and where they start.")
    search: strawberry.Private[repo.FactorySearch]

    @classmethod
    def from_page(cls, page: service.FactoryPage) -> FactoryConnection:
        edges = [FactoryEdge(cursor=cursor, node=Factory.from_row(row)) for cursor, row in page.edges]
        return cls(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=False,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=page.end_cursor,
            ),
            search=page.search,
        )

    @strawberry.field(description="How many factories match the filter, over all pages (one more query).")
    async def total_count(self, info: Info) -> int:
        return await service.count_factories(info.context.pool, info.context.principal, search=self.search)
