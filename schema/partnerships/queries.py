"""Partnership queries."""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.context import Info
from schema.ids import parse_id
from schema.partnerships.types import Partnership
from schema.permissions import FactoryOwnerOrCoordinator
from server.partnerships import service


@strawberry.type
class PartnershipsQuery:
    @strawberry.field(
        description="A factory's live partnerships, declared or confirmed, oldest first. Its owner and "
        "coordinators only (FORBIDDEN for others).",
        permission_classes=[FactoryOwnerOrCoordinator],
    )
    async def partnerships(
        self,
        info: Info,
        factory_id: Annotated[strawberry.ID, strawberry.argument(description="The factory.")],
    ) -> list[Partnership]:
        rows = await service.partnerships_of(
            info.context.pool, info.context.principal, factory_id=parse_id(factory_id, kind="factory")
        )
        return [Partnership.from_row(r) for r in rows]
