"""Quote mutations: exchange rates and issuing (coordinators); accepting and declining (the buyer)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

import strawberry

from schema.context import Info
from schema.errors import Error, attempt
from schema.ids import parse_id
from schema.permissions import BuyerOnly, CoordinatorOnly
from schema.quotes.types import ExchangeRate, Quote
from server.quotes import rates, service

_QUOTE_ID = strawberry.argument(description="The quote's id.")


@strawberry.input(description="A new current rate of a currency.")
class ExchangeRateSetInput:
    currency: str = strawberry.field(description="ISO 4217 code, not JPY, e.g. `USD`.")
    jpy_per_unit: Decimal = strawberry.field(description="JPY for one unit, above 0, at most six decimals.")


@strawberry.type(description="Result of setting an exchange rate.")
class ExchangeRatePayload:
    exchange_rate: ExchangeRate | None = strawberry.field(description="The rate stored; null on error.")
    errors: list[Error] = strawberry.field(description="Problems; empty on success.")


@strawberry.input(description="What to quote: an approved proposal whose every member accepted.")
class QuoteIssueInput:
    proposal_id: strawberry.ID = strawberry.field(description="The RFQ's approved proposal.")
    margin_pct: Decimal = strawberry.field(description="Margin on the members' cost, 0 to 100 percent.")
    valid_until: dt.date = strawberry.field(
        description="Last day (JST) the buyer may accept, today or later."
    )
    currency: str | None = strawberry.field(
        default=None, description="ISO 4217 currency; default: the RFQ's (the buyer's) currency."
    )


@strawberry.type(description="Result of a quote action.")
class QuotePayload:
    quote: Quote | None = strawberry.field(description="The quote as it is now; null on error.")
    errors: list[Error] = strawberry.field(description="Problems; empty on success.")


@strawberry.type
class QuotesMutation:
    @strawberry.mutation(
        description="Set the current rate of a currency (JPY per unit); earlier rates stay in the history. "
        "Coordinators only.",
        permission_classes=[CoordinatorOnly],
    )
    async def exchange_rate_set(
        self,
        info: Info,
        input: Annotated[ExchangeRateSetInput, strawberry.argument(description="The currency and rate.")],
    ) -> ExchangeRatePayload:
        row, errors = await attempt(
            rates.set_rate(
                info.context.pool,
                info.context.principal,
                currency=input.currency,
                jpy_per_unit=input.jpy_per_unit,
                today=info.context.today(),
                now=info.context.clock.now(),
            )
        )
        return ExchangeRatePayload(exchange_rate=ExchangeRate.from_row(row) if row else None, errors=errors)

    @strawberry.mutation(
        description="Issue the quote of an approved proposal once every member accepted its share: the "
        "agreed cost plus margin in the buyer's currency, per-line unit prices, delivery date and validity. "
        "The RFQ becomes quoted. Coordinators only.",
        permission_classes=[CoordinatorOnly],
    )
    async def quote_issue(
        self, info: Info, input: Annotated[QuoteIssueInput, strawberry.argument(description="The quote.")]
    ) -> QuotePayload:
        principal = info.context.principal
        row, errors = await attempt(
            service.issue_quote(
                info.context.pool,
                principal,
                proposal_id=parse_id(input.proposal_id, kind="proposal"),
                margin_pct=input.margin_pct,
                valid_until=input.valid_until,
                currency=input.currency,
                today=info.context.today(),
                now=info.context.clock.now(),
            )
        )
        return QuotePayload(quote=Quote.from_row(row, principal=principal) if row else None, errors=errors)

    @strawberry.mutation(
        description="Accept the quote: the RFQ is awarded and the members' weekly hours are booked, in one "
        "transaction. The same idempotencyKey again returns the first result. CAPACITY_CONFLICT when "
        "another award took the hours first (the RFQ goes back to proposed). The RFQ's buyer only.",
        permission_classes=[BuyerOnly],
    )
    async def quote_accept(
        self,
        info: Info,
        id: Annotated[strawberry.ID, _QUOTE_ID],
        idempotency_key: Annotated[
            str, strawberry.argument(description="The client's key for this accept, at most 200 characters.")
        ],
    ) -> QuotePayload:
        principal = info.context.principal
        row, errors = await attempt(
            service.accept_quote(
                info.context.pool,
                principal,
                quote_id=parse_id(id, kind="quote"),
                idempotency_key=idempotency_key,
                today=info.context.today(),
                now=info.context.clock.now(),
            )
        )
        return QuotePayload(quote=Quote.from_row(row, principal=principal) if row else None, errors=errors)

    @strawberry.mutation(
        description="Decline the quote, with a reason: the RFQ becomes declined. The RFQ's buyer only.",
        permission_classes=[BuyerOnly],
    )
    async def quote_decline(
        self,
        info: Info,
        id: Annotated[strawberry.ID, _QUOTE_ID],
        reason: Annotated[str, strawberry.argument(description="Why, 1 to 2000 characters.")],
    ) -> QuotePayload:
        principal = info.context.principal
        row, errors = await attempt(
            service.decline_quote(
                info.context.pool,
                principal,
                quote_id=parse_id(id, kind="quote"),
                reason=reason,
                today=info.context.today(),
                now=info.context.clock.now(),
            )
        )
        return QuotePayload(quote=Quote.from_row(row, principal=principal) if row else None, errors=errors)
