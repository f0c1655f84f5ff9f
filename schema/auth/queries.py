"""Auth queries: who am I, buyers, API keys."""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.auth.loaders import buyers_by_id, users_by_id
from schema.auth.types import ApiKey, Buyer, CallerRole, Me, User
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
    async def me(self, info: Info) -> Me:
        principal = info.context.principal
        user = buyer = None
        if principal.user_id is not None:
            row = await info.context.loader(users_by_id).load(principal.user_id)
            user = User.from_row(row) if row else None
        if principal.buyer_id is not None:
            brow = await info.context.loader(buyers_by_id).load(principal.buyer_id)
            buyer = Buyer.from_row(brow) if brow else None
        return Me(role=CallerRole.of(principal.role), user=user, buyer=buyer)

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
