"""Catalogue queries: open to anyone, anonymous callers included."""

from __future__ import annotations

from typing import Annotated, cast

import strawberry

from schema.catalogue.types import Certification, Material, Prefecture, Process, ProcessCategory
from schema.context import Info
from schema.permissions import ValidCredentials
from server.catalogue import service


@strawberry.type
class CatalogueQuery:
    @strawberry.field(
        description="The process taxonomy in display order. Open to anyone, even anonymous.",
        permission_classes=[ValidCredentials],
    )
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

    @strawberry.field(
        description="Materials by family and code. Open to anyone, even anonymous.",
        permission_classes=[ValidCredentials],
    )
    async def materials(self, info: Info) -> list[Material]:
        rows = await service.list_materials(info.context.pool, info.context.principal)
        return [Material.from_row(r) for r in rows]

    @strawberry.field(
        description="Certifications a factory may hold. Open to anyone, even anonymous.",
        permission_classes=[ValidCredentials],
    )
    async def certifications(self, info: Info) -> list[Certification]:
        rows = await service.list_certifications(info.context.pool, info.context.principal)
        return [Certification.from_row(r) for r in rows]

    @strawberry.field(
        description="The 47 prefectures by JIS code. Open to anyone, even anonymous.",
        permission_classes=[ValidCredentials],
    )
    async def prefectures(self, info: Info) -> list[Prefecture]:
        rows = await service.list_prefectures(info.context.pool, info.context.principal)
        return [Prefecture.from_row(r) for r in rows]
