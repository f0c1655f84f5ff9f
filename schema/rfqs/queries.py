"""RFQ queries: one RFQ and a page of RFQs, both scoped by :func:`server.rfqs.rules.visible_rfqs_clause`."""

from __future__ import annotations

from typing import Annotated, cast

import strawberry
from strawberry.relay import PageInfo

from schema.context import Info
from schema.rfqs.types import Rfq, RfqConnection, RfqEdge, RfqStatus
from server.rfqs import service
from server.validation import parse_uuid


def _page_info(*, has_next_page: bool, cursors: list[str]) -> PageInfo:
    return PageInfo(
        has_next_page=has_next_page,
        has_previous_page=False,
        start_cursor=cursors[0] if cursors else None,
        end_cursor=cursors[-1] if cursors else None,
    )


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
        "factories could work on. Any other id, even an existing one, is a NOT_FOUND error."
    )
    async def rfq(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The RFQ's id.")]
    ) -> Rfq:
        principal = info.context.principal
        row = await service.get_rfq(info.context.pool, principal, rfq_id=parse_uuid(id))
        return Rfq.of(row, principal)

    @strawberry.field(
        description="The RFQs the caller may see (same rule as `rfq`), newest first, a page at a time."
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
    ) -> RfqConnection:
        principal = info.context.principal
        status = cast(str, filter.status.value) if filter and filter.status else None
        buyer_id = None
        if filter and filter.buyer_id is not None:
            buyer_id = parse_uuid(filter.buyer_id)
            if buyer_id is None:
                principal.require_signed_in()
                return RfqConnection(edges=[], page_info=_page_info(has_next_page=False, cursors=[]))
        page = await service.list_rfqs(
            info.context.pool, principal, status=status, buyer_id=buyer_id, first=first, after=after
        )
        return RfqConnection(
            edges=[
                RfqEdge(node=Rfq.of(r, principal), cursor=c)
                for r, c in zip(page.rfqs, page.cursors, strict=True)
            ],
            page_info=_page_info(has_next_page=page.has_next_page, cursors=page.cursors),
        )
