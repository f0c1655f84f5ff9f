"""RFQ queries: one RFQ and a page of RFQs, both scoped by :func:`server.rfqs.rules.visible_rfqs_clause`."""

from __future__ import annotations

from typing import Annotated, cast

import strawberry

from schema.context import Info
from schema.ids import parse_id, parse_optional_id
from schema.pagination import Connection, connection
from schema.permissions import SignedIn
from schema.rfqs.types import Rfq, RfqStatus, with_details
from schema.selection import selected_paths
from server.rfqs import service


@strawberry.input(description="Which RFQs to list; every condition given must hold.")
class RfqFilter:
    status: RfqStatus | None = strawberry.field(default=None, description="Only RFQs in this status.")
    buyer_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only this buyer's RFQs (useful to coordinators)."
    )


@strawberry.type
class RfqQuery:
    @strawberry.field(
        description="One RFQ. A buyer sees its own, a coordinator any, a factory owner the open RFQs its "
        "factories could work on. Any other id, even an existing one, is a NOT_FOUND error.",
        permission_classes=[SignedIn],
    )
    async def rfq(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The RFQ's id.")]
    ) -> Rfq:
        principal = info.context.principal
        row = await service.get_rfq(info.context.pool, principal, rfq_id=parse_id(id, kind="RFQ"))
        rfq = Rfq.from_row(row, principal=principal)
        await with_details(
            info,
            [rfq],
            selected=selected_paths(info),
            line_fields=selected_paths(info, "lines"),
            package_fields=selected_paths(info, "packages"),
            bid_fields=selected_paths(info, "packages", "bids"),
        )
        return rfq

    @strawberry.field(
        description="The RFQs the caller may see (same rule as `rfq`), newest first, a page at a time.",
        permission_classes=[SignedIn],
    )
    async def rfqs(
        self,
        info: Info,
        filter: Annotated[
            RfqFilter | None, strawberry.argument(description="Conditions on the RFQs listed.")
        ] = None,
        first: Annotated[
            int | None, strawberry.argument(description="Page size, 1 to 100 (default 20).")
        ] = None,
        after: Annotated[
            str | None, strawberry.argument(description="`endCursor` of the previous page.")
        ] = None,
    ) -> Connection[Rfq]:
        principal = info.context.principal
        status = cast(str, filter.status.value) if filter and filter.status else None
        buyer_id = parse_optional_id(filter.buyer_id, kind="buyer") if filter else None
        page = await service.list_rfqs(
            info.context.pool, principal, status=status, buyer_id=buyer_id, first=first, after=after
        )
        result = connection(page, lambda row: Rfq.from_row(row, principal=principal))
        await with_details(
            info,
            [edge.node for edge in result.edges],
            selected=selected_paths(info, "edges", "node"),
            line_fields=selected_paths(info, "edges", "node", "lines"),
            package_fields=selected_paths(info, "edges", "node", "packages"),
            bid_fields=selected_paths(info, "edges", "node", "packages", "bids"),
        )
        return result
