"""Logistics mutations: coordinators correct the transport figures of a pair of prefectures."""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.context import Info
from schema.errors import Error, attempt
from schema.logistics.types import TransportLink
from schema.permissions import CoordinatorOnly
from server.logistics import service


@strawberry.input(description="Transport figures for one pair of prefectures (both directions).")
class TransportLinkSetInput:
    from_prefecture: str = strawberry.field(description="JIS code of one end, e.g. `13`.")
    to_prefecture: str = strawberry.field(description="JIS code of the other end.")
    days: int | None = strawberry.field(
        default=None, description="Days in transit, 0 to 60. Leave out with `costJpy` to remove the override."
    )
    cost_jpy: int | None = strawberry.field(
        default=None, description="JPY per shipment. Leave out with `days` to remove the override."
    )


@strawberry.type(description="Result of setting transport figures.")
class TransportLinkSetPayload:
    link: TransportLink | None = strawberry.field(description="The figures now in force; null on error.")
    errors: list[Error] = strawberry.field(description="Problems with the input; empty on success.")


@strawberry.type
class LogisticsMutation:
    @strawberry.mutation(
        description="Override (or, without days and cost, reset) the transport figures between two "
        "prefectures. Coordinators only; later solves use them.",
        permission_classes=[CoordinatorOnly],
    )
    async def transport_link_set(
        self,
        info: Info,
        input: Annotated[TransportLinkSetInput, strawberry.argument(description="The pair and figures.")],
    ) -> TransportLinkSetPayload:
        row, errors = await attempt(
            service.set_transport_link(
                info.context.pool,
                info.context.principal,
                from_prefecture=input.from_prefecture,
                to_prefecture=input.to_prefecture,
                days=input.days,
                cost_jpy=input.cost_jpy,
                now=info.context.clock.now(),
            )
        )
        return TransportLinkSetPayload(link=TransportLink.from_row(row) if row else None, errors=errors)
