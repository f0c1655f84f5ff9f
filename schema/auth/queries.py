"""Auth queries: who am I, buyers, API keys."""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.auth.types import ApiKey, Buyer, Me
from schema.context import Info
from schema.ids import parse_optional_id
from schema.permissions import BuyerOrCoordinator, CoordinatorOnly, ValidCredentials
from server.auth import service


@strawberry.type
class AuthQuery:
    @strawberry.field(
        description="The caller: role, and the person or buyer behind the credentials.",
        permission_classes=[ValidCredentials],
    )
    def me(self, info: Info) -> Me:
        return Me.of(info.context.principal)

    @strawberry.field(
        description="All buyer organisations. Coordinators only.", permission_classes=[CoordinatorOnly]
    )
    async def buyers(self, info: Info) -> list[Buyer]:
        rows = await service.list_buyers(info.context.pool, info.context.principal)
        return [Buyer.from_row(b) for b in rows]

    @strawberry.field(
        description="API keys of a buyer: a buyer sees its own (argument omitted); a coordinator names one.",
        permission_classes=[BuyerOrCoordinator],
    )
    async def api_keys(
        self,
        info: Info,
        buyer_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="The buyer whose keys to list; coordinators must give it."),
        ] = None,
    ) -> list[ApiKey]:
        keys = await service.list_api_keys(
            info.context.pool, info.context.principal, buyer_id=parse_optional_id(buyer_id, kind="buyer")
        )
        return [ApiKey.from_row(k) for k in keys]


__all__ = ["AuthQuery"]
