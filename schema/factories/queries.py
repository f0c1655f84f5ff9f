"""Factories queries: the taxonomy (open to anyone) and the factory registry (signed-in callers)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, cast

import strawberry

from schema.context import Info
from schema.factories.types import (
    Certification,
    Factory,
    FactoryConnection,
    Material,
    Prefecture,
    Process,
    ProcessCategory,
)
from server.factories import service


@strawberry.input(description="Which factories to list; every field given must hold.")
class FactoryFilter:
    process_code: str | None = strawberry.field(
        default=None, description="Has a capability for this process (code, e.g. `cnc_turning`)."
    )
    material: str | None = strawberry.field(
        default=None, description="Has a capability working this material (code, e.g. `SUS304`)."
    )
    tolerance_um: float | None = strawberry.field(
        default=None,
        description="Has a capability holding this tolerance or finer (best tolerance ≤ this many µm). "
        "With `processCode` and/or `material`, one capability must satisfy them all.",
    )
    prefecture: str | None = strawberry.field(default=None, description="JIS prefecture code, e.g. `13`.")
    cluster: str | None = strawberry.field(
        default=None, description="Industrial cluster, e.g. `Ota` (case-insensitive, exact)."
    )
    certification: str | None = strawberry.field(
        default=None, description="Holds this certification (code, e.g. `ISO9001`), valid on `certifiedOn`."
    )
    certified_on: dt.date | None = strawberry.field(
        default=None, description="The day the certification must be valid on; default: today (Japan)."
    )
    owned_by_me: bool = strawberry.field(
        default=False, description="Only the caller's own factories (factory owners)."
    )

    def to_service(self) -> service.FactoryFilter:
        return service.FactoryFilter(
            process_code=self.process_code,
            material=self.material,
            tolerance_um=self.tolerance_um,
            prefecture=self.prefecture,
            cluster=self.cluster,
            certification=self.certification,
            certified_on=self.certified_on,
            owned_by_me=self.owned_by_me,
        )


@strawberry.type
class FactoriesQuery:
    @strawberry.field(description="The process taxonomy in display order. Open to anyone, even anonymous.")
    async def processes(
        self,
        info: Info,
        category: Annotated[
            ProcessCategory | None, strawberry.argument(description="Only processes of this category.")
        ] = None,
    ) -> list[Process]:
        # The enum's values are the database's category strings (typed as strawberry's value definitions).
        code = cast(str, category.value) if category else None
        rows = await service.list_processes(info.context.pool, info.context.principal, category=code)
        return [Process.from_row(r) for r in rows]

    @strawberry.field(description="Materials by family and code. Open to anyone, even anonymous.")
    async def materials(self, info: Info) -> list[Material]:
        rows = await service.list_materials(info.context.pool, info.context.principal)
        return [Material.from_row(r) for r in rows]

    @strawberry.field(description="Certifications a factory may hold. Open to anyone, even anonymous.")
    async def certifications(self, info: Info) -> list[Certification]:
        rows = await service.list_certifications(info.context.pool, info.context.principal)
        return [Certification.from_row(r) for r in rows]

    @strawberry.field(description="The 47 prefectures by JIS code. Open to anyone, even anonymous.")
    async def prefectures(self, info: Info) -> list[Prefecture]:
        rows = await service.list_prefectures(info.context.pool, info.context.principal)
        return [Prefecture.from_row(r) for r in rows]

    @strawberry.field(description="One factory. Signed-in callers; `NOT_FOUND` for an unknown id.")
    async def factory(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The factory's id.")]
    ) -> Factory | None:
        row = await service.get_factory(info.context.pool, info.context.principal, factory_id=id)
        return Factory.from_row(row)

    @strawberry.field(
        description="The factory registry, filtered, in pages ordered by English name. Signed-in callers. "
        "A bad `after` cursor or `first` is a `BAD_USER_INPUT` error."
    )
    async def factories(
        self,
        info: Info,
        filter: Annotated[
            FactoryFilter | None, strawberry.argument(description="Which factories; default: all.")
        ] = None,
        first: Annotated[
            int | None, strawberry.argument(description="Page size, 1 to 100; default 20.")
        ] = None,
        after: Annotated[
            str | None, strawberry.argument(description="`endCursor` of the previous page.")
        ] = None,
    ) -> FactoryConnection:
        page = await service.search_factories(
            info.context.pool,
            info.context.principal,
            where=filter.to_service() if filter else service.FactoryFilter(),
            first=first,
            after=after,
        )
        return FactoryConnection.from_page(page)
