"""Factories queries: the factory registry and its clusters (signed-in callers)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from schema.context import Info
from schema.factories.types import Cluster, Factory, FactoryConnection, with_details
from schema.ids import parse_id
from schema.pagination import connection
from schema.permissions import SignedIn
from schema.selection import selected_paths
from server.factories import profile


@strawberry.input(description="Which factories to list; every field given must hold.")
class FactoryFilter:
    process_code: str | None = strawberry.field(
        default=None,
        description="Has a capability for this process (code, e.g. `cnc_turning`; see `processes`). "
        "An unknown code is `UNKNOWN_PROCESS`.",
    )
    material: str | None = strawberry.field(
        default=None,
        description="Has a capability working this material (code, e.g. `SUS304`; see `materials`). "
        "An unknown code is `UNKNOWN_MATERIAL`.",
    )
    tolerance_um: float | None = strawberry.field(
        default=None,
        description="Has a capability holding this tolerance or finer (best tolerance ≤ this many µm). "
        "With `processCode` and/or `material`, one capability must satisfy them all.",
    )
    prefecture: str | None = strawberry.field(
        default=None,
        description="JIS prefecture code, e.g. `13` (see `prefectures`). An unknown code is "
        "`UNKNOWN_PREFECTURE`.",
    )
    cluster: str | None = strawberry.field(
        default=None,
        description="Industrial cluster, e.g. `Ota` (case-insensitive, exact; see `clusters`). A cluster no "
        "factory belongs to is `UNKNOWN_CLUSTER`.",
    )
    certification: str | None = strawberry.field(
        default=None,
        description="Holds this certification (code, e.g. `ISO9001`; see `certifications`), valid on "
        "`certifiedOn`. An unknown code is `UNKNOWN_CERTIFICATION`.",
    )
    certified_on: dt.date | None = strawberry.field(
        default=None, description="The day the certification must be valid on; default: today (Japan)."
    )
    owned_by_me: bool = strawberry.field(
        default=False, description="Only the caller's own factories (factory owners)."
    )

    def to_service(self) -> profile.FactoryFilter:
        return profile.FactoryFilter(
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
    @strawberry.field(
        description="One factory. Signed-in callers; `NOT_FOUND` for an unknown id.",
        permission_classes=[SignedIn],
    )
    async def factory(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The factory's id.")]
    ) -> Factory:
        row = await profile.get_factory(
            info.context.pool, info.context.principal, factory_id=parse_id(id, kind="factory")
        )
        return Factory.from_row(row)

    @strawberry.field(
        description="The factory registry, filtered, in pages ordered by English name. Signed-in callers. "
        "A bad filter code, `after` cursor or `first` is a `BAD_USER_INPUT` error naming the argument "
        "(e.g. `filter.processCode`).",
        permission_classes=[SignedIn],
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
        page = await profile.search_factories(
            info.context.pool,
            info.context.principal,
            where=filter.to_service() if filter else profile.FactoryFilter(),
            first=first,
            after=after,
            today=info.context.today(),
            count="totalCount" in selected_paths(info),
        )
        result = connection(page, Factory.from_row)
        await with_details(
            info, [edge.node for edge in result.edges], selected=selected_paths(info, "edges", "node")
        )
        return result

    @strawberry.field(
        description="Every industrial cluster some factory belongs to, by name, with its number of "
        "factories: the values `filter.cluster` accepts. Signed-in callers.",
        permission_classes=[SignedIn],
    )
    async def clusters(self, info: Info) -> list[Cluster]:
        rows = await profile.list_clusters(info.context.pool, info.context.principal)
        return [Cluster.from_row(r) for r in rows]
