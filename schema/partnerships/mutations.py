"""Partnership mutations: declare, confirm, end."""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.context import Info
from schema.errors import Error, attempt
from schema.ids import parse_id
from schema.partnerships.types import Partnership
from schema.permissions import FactoryOwnerOnly, FactoryOwnerOrCoordinator
from server.partnerships import service

_PARTNERSHIP_ID = strawberry.argument(description="The partnership's id.")


@strawberry.input(description="A partnership to declare.")
class PartnershipDeclareInput:
    factory_id: strawberry.ID = strawberry.field(description="Your factory.")
    partner_factory_id: strawberry.ID = strawberry.field(description="Another owner's factory you work with.")
    note: str = strawberry.field(default="", description="What you do together (optional, for the partner).")


@strawberry.type(description="Result of a partnership mutation.")
class PartnershipPayload:
    partnership: Partnership | None = strawberry.field(description="The partnership; null on error.")
    errors: list[Error] = strawberry.field(description="Problems with the input; empty on success.")


@strawberry.type
class PartnershipsMutation:
    @strawberry.mutation(
        description="Declare that your factory works with another owner's factory. It counts once that "
        "owner confirms it.",
        permission_classes=[FactoryOwnerOnly],
    )
    async def partnership_declare(
        self,
        info: Info,
        input: Annotated[PartnershipDeclareInput, strawberry.argument(description="The two factories.")],
    ) -> PartnershipPayload:
        factory_id = parse_id(input.factory_id, kind="factory")
        partner_id = parse_id(input.partner_factory_id, kind="factory")
        row, errors = await attempt(
            service.declare_partnership(
                info.context.pool,
                info.context.principal,
                factory_id=factory_id,
                partner_factory_id=partner_id,
                note=input.note,
                now=info.context.clock.now(),
            )
        )
        return PartnershipPayload(partnership=Partnership.from_row(row) if row else None, errors=errors)

    @strawberry.mutation(
        description="Confirm a partnership declared with your factory. The partner factory's owner only.",
        permission_classes=[FactoryOwnerOnly],
    )
    async def partnership_confirm(
        self, info: Info, id: Annotated[strawberry.ID, _PARTNERSHIP_ID]
    ) -> PartnershipPayload:
        row, errors = await attempt(
            service.confirm_partnership(
                info.context.pool,
                info.context.principal,
                partnership_id=parse_id(id, kind="partnership"),
                now=info.context.clock.now(),
            )
        )
        return PartnershipPayload(partnership=Partnership.from_row(row) if row else None, errors=errors)

    @strawberry.mutation(
        description="End a partnership: either factory's owner, or a coordinator.",
        permission_classes=[FactoryOwnerOrCoordinator],
    )
    async def partnership_end(
        self, info: Info, id: Annotated[strawberry.ID, _PARTNERSHIP_ID]
    ) -> PartnershipPayload:
        row, errors = await attempt(
            service.end_partnership(
                info.context.pool,
                info.context.principal,
                partnership_id=parse_id(id, kind="partnership"),
                now=info.context.clock.now(),
            )
        )
        return PartnershipPayload(partnership=Partnership.from_row(row) if row else None, errors=errors)
