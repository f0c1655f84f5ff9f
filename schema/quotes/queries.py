"""Quote queries: a quote, an RFQ's quotes (its buyer and coordinators), exchange rates, shipping days."""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.context import Info
from schema.ids import parse_id
from schema.permissions import BuyerOrCoordinator, CoordinatorOnly, SignedIn
from schema.quotes.types import ExchangeRate, Quote, ShippingDays, with_quote_details
from schema.selection import selected_paths
from server.quotes import rates, service


@strawberry.type
class QuotesQuery:
    @strawberry.field(
        description="One quote: the RFQ's buyer or a coordinator; anybody else gets NOT_FOUND.",
        permission_classes=[BuyerOrCoordinator],
    )
    async def quote(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The quote's id.")]
    ) -> Quote:
        principal = info.context.principal
        row = await service.get_quote(info.context.pool, principal, quote_id=parse_id(id, kind="quote"))
        quote = Quote.from_row(row, principal=principal)
        await with_quote_details(info, [quote], selected=selected_paths(info))
        return quote

    @strawberry.field(
        description="An RFQ's quotes, newest first: its buyer or a coordinator.",
        permission_classes=[BuyerOrCoordinator],
    )
    async def quotes(
        self, info: Info, rfq_id: Annotated[strawberry.ID, strawberry.argument(description="The RFQ.")]
    ) -> list[Quote]:
        principal = info.context.principal
        rows = await service.quotes_of_rfq(info.context.pool, principal, rfq_id=parse_id(rfq_id, kind="RFQ"))
        quotes = [Quote.from_row(r, principal=principal) for r in rows]
        await with_quote_details(info, quotes, selected=selected_paths(info))
        return quotes

    @strawberry.field(
        description="Exchange rates, newest first (the history): the newest of a currency applies to new "
        "quotes. Coordinators only.",
        permission_classes=[CoordinatorOnly],
    )
    async def exchange_rates(
        self,
        info: Info,
        currency: Annotated[
            str | None, strawberry.argument(description="Only this ISO 4217 currency; default: all.")
        ] = None,
        first: Annotated[int, strawberry.argument(description="How many, 1 to 500.")] = 100,
    ) -> list[ExchangeRate]:
        rows = await rates.rate_history(
            info.context.pool, info.context.principal, currency=currency, limit=first
        )
        return [ExchangeRate.from_row(r) for r in rows]

    @strawberry.field(
        description="The seeded shipping-days table by incoterm and destination (docs/shipping.md): how a "
        "quote's delivery date follows from completion.",
        permission_classes=[SignedIn],
    )
    async def shipping_days(self, info: Info) -> list[ShippingDays]:
        rows = await service.shipping_table(info.context.pool, info.context.principal)
        return [ShippingDays.from_row(r) for r in rows]
