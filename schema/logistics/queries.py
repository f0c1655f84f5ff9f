"""Logistics queries: transport figures between two prefectures."""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.context import Info
from schema.logistics.types import TransportLink
from schema.permissions import SignedIn
from server.logistics import service


@strawberry.type
class LogisticsQuery:
    @strawberry.field(
        description="Transport days and cost of one shipment between two prefectures (either order), as the "
        "solver uses them. Signed-in callers. An unknown code is a BAD_USER_INPUT error.",
        permission_classes=[SignedIn],
    )
    async def transport_link(
        self,
        info: Info,
        from_prefecture: Annotated[str, strawberry.argument(description="JIS code of one end, e.g. `13`.")],
        to_prefecture: Annotated[str, strawberry.argument(description="JIS code of the other end.")],
    ) -> TransportLink:
        row = await service.transport_link(
            info.context.pool,
            info.context.principal,
            from_prefecture=from_prefecture,
            to_prefecture=to_prefecture,
        )
        return TransportLink.from_row(row)
