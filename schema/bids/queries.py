"""Bid queries: the open RFQs a factory owner can bid on, with its eligible packages and its bids."""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.bids.types import BiddableRfq, with_biddable_details
from schema.context import Info
from schema.pagination import Connection, connection
from schema.permissions import FactoryOwnerOnly
from schema.selection import selected_paths
from server.bids import service


@strawberry.type
class BidQuery:
    @strawberry.field(
        description="Factory owners: the open RFQs before their bid deadline (JST) with at least one work "
        "package a factory of yours is eligible for today, newest first; each with those packages and your "
        "bids on it.",
        permission_classes=[FactoryOwnerOnly],
    )
    async def biddable_rfqs(
        self,
        info: Info,
        first: Annotated[
            int | None, strawberry.argument(description="Page size, 1 to 100 (default 20).")
        ] = None,
        after: Annotated[
            str | None, strawberry.argument(description="`endCursor` of the previous page.")
        ] = None,
    ) -> Connection[BiddableRfq]:
        principal = info.context.principal
        page = await service.biddable_rfqs(
            info.context.pool, principal, today=info.context.today(), first=first, after=after
        )
        taxonomy = info.context.taxonomy
        result = connection(
            page, lambda row: BiddableRfq.from_row(row, principal=principal, taxonomy=taxonomy)
        )
        await with_biddable_details(
            info, [edge.node for edge in result.edges], selected=selected_paths(info, "edges", "node")
        )
        return result
