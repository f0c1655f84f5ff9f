"""GraphQL types of quotes: the buyer's view of the consortium (roles only), prices in its currency."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import cast

import strawberry

from schema.context import Info
from schema.executor import preloaded
from schema.ids import to_id
from schema.quotes import loaders
from schema.rfqs.loaders import lines_by_rfq_id
from server.auth.principal import Principal
from server.quotes import money, repo
from server.rfqs import repo as rfqs_repo


@strawberry.enum(description="Where a quote stands.")
class QuoteStatus(enum.Enum):
    ISSUED = strawberry.enum_value("issued", description="Sent to the buyer; open until its last valid day.")
    ACCEPTED = strawberry.enum_value("accepted", description="The buyer accepted it: the RFQ is awarded.")
    DECLINED = strawberry.enum_value("declined", description="The buyer declined it.")
    EXPIRED = strawberry.enum_value("expired", description="Its validity passed unanswered.")
    WITHDRAWN = strawberry.enum_value(
        "withdrawn", description="Withdrawn: the RFQ was cancelled, or the award lost a capacity conflict."
    )


@strawberry.type(description="An exchange rate kept by the cluster office: JPY per one unit of a currency.")
class ExchangeRate:
    id: strawberry.ID = strawberry.field(description="Stable identifier.")
    currency: str = strawberry.field(description="ISO 4217 code, e.g. `USD`.")
    jpy_per_unit: Decimal = strawberry.field(description="JPY for one unit, e.g. `151.25` for 1 USD.")
    set_on: dt.date = strawberry.field(description="The JST business day it was set.")
    set_at: dt.datetime = strawberry.field(description="When it was set.")

    @classmethod
    def from_row(cls, row: repo.ExchangeRate) -> ExchangeRate:
        return cls(
            id=strawberry.ID(str(row.id)),
            currency=row.currency,
            jpy_per_unit=row.jpy_per_unit,
            set_on=row.set_on,
            set_at=row.set_at,
        )


@strawberry.type(
    description="Shipping days after completion for one incoterm and destination (seeded table)."
)
class ShippingDays:
    incoterm: str = strawberry.field(description="Incoterms 2020 rule, e.g. `DAP`.")
    destination: str = strawberry.field(description="ISO 3166-1 alpha-2 country, or `*` for any other.")
    days: int = strawberry.field(description="Calendar days from completion to delivery under the rule.")
    basis: str = strawberry.field(description="How the figure is made up.")

    @classmethod
    def from_row(cls, row: repo.ShippingDays) -> ShippingDays:
        return cls(incoterm=row.incoterm, destination=row.destination, days=row.days, basis=row.basis)


@strawberry.type(
    description="The lead factory as the buyer sees it: where it is and what it is certified for."
)
class LeadFactoryRole:
    area: str = strawberry.field(description="Its industrial cluster (e.g. `Ota`), or else its city.")
    prefecture: str = strawberry.field(description="Its prefecture, in English.")
    certifications: list[str] = strawberry.field(description="Certifications valid at completion.")


@strawberry.type(
    description="The consortium as roles only: never a factory's name, id, share, price or bid. E.g. "
    '"lead factory: Ota, Tokyo, ISO 9001; 4 partner factories in 3 prefectures".'
)
class ConsortiumRoles:
    summary: str = strawberry.field(description="The roles in one sentence.")
    lead: LeadFactoryRole | None = strawberry.field(description="The lead factory's role.")
    partner_factories: int = strawberry.field(description="How many partner factories besides the lead.")
    partner_prefectures: int = strawberry.field(description="In how many prefectures the partners are.")


@strawberry.type(description="One RFQ line of a quote: its unit price in the quote's currency.")
class QuoteLine:
    line_id: strawberry.ID = strawberry.field(description="The RFQ line.")
    position: int = strawberry.field(description="The line's position in the RFQ.")
    name: str = strawberry.field(description="The part's name.")
    part_number: str = strawberry.field(description="The buyer's part number (may be empty).")
    quantity: int = strawberry.field(description="Pieces.")
    unit_price: Decimal = strawberry.field(
        description="Price per piece in the quote's currency, rounded half up to its minor unit."
    )
    amount: Decimal = strawberry.field(description="`unitPrice` × `quantity`.")


@strawberry.type(
    description="A quote to the buyer: one price in its currency, per-line unit prices, a delivery date and "
    "a validity. The buyer sees the consortium only as roles."
)
class Quote:
    id: strawberry.ID = strawberry.field(description="Stable identifier.")
    rfq_id: strawberry.ID = strawberry.field(description="The RFQ quoted.")
    status: QuoteStatus = strawberry.field(description="Where the quote stands.")
    currency: str = strawberry.field(description="ISO 4217 code of every amount of the quote.")
    minor_units: int = strawberry.field(description="Decimals of the currency (ISO 4217: JPY 0, USD 2).")
    total_amount: Decimal = strawberry.field(description="The price: Σ of the lines' amounts.")
    jpy_per_unit: Decimal = strawberry.field(description="The exchange rate used: JPY per unit (1 for JPY).")
    completion_date: dt.date = strawberry.field(description="When the consortium completes the work.")
    shipping_days: int = strawberry.field(
        description="Days from completion to delivery for the RFQ's incoterm and destination."
    )
    delivery_date: dt.date = strawberry.field(description="Completion + shipping days.")
    valid_until: dt.date = strawberry.field(description="Last day (JST) the buyer may accept it.")
    consortium: ConsortiumRoles = strawberry.field(description="Who does the work, as roles only.")
    issued_at: dt.datetime = strawberry.field(description="When it was issued.")
    answered_at: dt.datetime | None = strawberry.field(
        description="When it was accepted, declined or closed."
    )
    decline_reason: str = strawberry.field(description="The buyer's reason when it declined.")
    cost_jpy: int | None = strawberry.field(
        description="The members' agreed cost in JPY (production, setup, transport); coordinators only."
    )
    margin_pct: Decimal | None = strawberry.field(description="The margin in percent; coordinators only.")
    row: strawberry.Private[repo.Quote]
    # Set when a page loaded these for all its quotes at once (:func:`with_quote_details`).
    loaded_lines: strawberry.Private[list[QuoteLine] | None] = None
    loaded_rate: strawberry.Private[ExchangeRate | None] = None

    @classmethod
    def from_row(cls, row: repo.Quote, *, principal: Principal) -> Quote:
        view = row.consortium
        lead = view.get("lead")
        office = principal.is_coordinator
        return cls(
            id=to_id(row.id),
            rfq_id=to_id(row.rfq_id),
            status=QuoteStatus(row.status),
            currency=row.currency,
            minor_units=money.minor_units(row.currency),
            total_amount=money.round_to_minor(row.total_amount, row.currency),
            jpy_per_unit=row.jpy_per_unit,
            completion_date=row.completion_date,
            shipping_days=row.shipping_days,
            delivery_date=row.delivery_date,
            valid_until=row.valid_until,
            consortium=ConsortiumRoles(
                summary=str(view.get("summary", "")),
                lead=LeadFactoryRole(
                    area=str(lead["area"]),
                    prefecture=str(lead["prefecture"]),
                    certifications=[str(c) for c in lead["certifications"]],
                )
                if lead
                else None,
                partner_factories=int(view.get("partnerFactories", 0)),
                partner_prefectures=int(view.get("partnerPrefectures", 0)),
            ),
            issued_at=row.issued_at,
            answered_at=row.answered_at,
            decline_reason=row.decline_reason,
            cost_jpy=row.cost_jpy if office else None,
            margin_pct=row.margin_pct if office else None,
            row=row,
        )

    # Each a plain value when the page loaded it, else an awaitable (see schema.factories.types.Factory).
    @strawberry.field(description="The exchange-rate entry used, with the day it was set; null for JPY.")
    def exchange_rate(self, info: Info) -> ExchangeRate | None:
        if self.row.exchange_rate_id is None:
            return None
        if self.loaded_rate is not None:
            return self.loaded_rate
        return cast(ExchangeRate | None, self._load_rate(info, self.row.exchange_rate_id))

    async def _load_rate(self, info: Info, rate_id: int) -> ExchangeRate | None:
        rate = await info.context.loader(loaders.rates_by_id).load(rate_id)
        return ExchangeRate.from_row(rate) if rate else None

    @strawberry.field(description="Unit prices per RFQ line, in line order.")
    @preloaded("loaded_lines")
    def lines(self, info: Info) -> list[QuoteLine]:
        if self.loaded_lines is not None:
            return self.loaded_lines
        return cast(list[QuoteLine], self._load_lines(info))

    async def _load_lines(self, info: Info) -> list[QuoteLine]:
        rows = await info.context.loader(loaders.lines_by_quote_id).load(self.row.id)
        rfq_lines = await info.context.loader(lines_by_rfq_id).load(self.row.rfq_id)
        return quote_lines(self.row, rows, rfq_lines)


def quote_lines(
    quote: repo.Quote, rows: list[repo.QuoteLine], rfq_lines: list[rfqs_repo.RfqLine]
) -> list[QuoteLine]:
    """The quote's lines as the buyer sees them: its unit prices with the RFQ lines they price."""
    by_id = {line.id: line for line in rfq_lines}
    result = []
    for row in rows:
        line = by_id[row.rfq_line_id]
        price = money.round_to_minor(row.unit_price, quote.currency)
        result.append(
            QuoteLine(
                line_id=to_id(line.id),
                position=line.position,
                name=line.name,
                part_number=line.part_number,
                quantity=row.quantity,
                unit_price=price,
                amount=price * row.quantity,
            )
        )
    return result


async def with_quote_details(info: Info, quotes: list[Quote], *, selected: set[str]) -> None:
    """Give the quotes of one answer (an RFQ's, or one) their lines and exchange rates as the query
    ``selected`` them: one query per list for all of them (their RFQs' lines through the request's loader,
    one batch). The quotes' service returned only quotes the caller may see."""
    if not quotes:
        return
    pool = info.context.pool
    if "lines" in selected:
        rows = await loaders.lines_by_quote_id(pool, [q.row.id for q in quotes])
        rfq_lines = await info.context.loader(lines_by_rfq_id).load_many([q.row.rfq_id for q in quotes])
        for quote, quote_rows, lines in zip(quotes, rows, rfq_lines, strict=True):
            quote.loaded_lines = quote_lines(quote.row, quote_rows, lines)
    rate_ids = sorted({q.row.exchange_rate_id for q in quotes if q.row.exchange_rate_id is not None})
    if "exchangeRate" in selected and rate_ids:
        rates = dict(zip(rate_ids, await loaders.rates_by_id(pool, rate_ids), strict=True))
        for quote in quotes:
            rate = rates.get(quote.row.exchange_rate_id) if quote.row.exchange_rate_id is not None else None
            if rate is not None:
                quote.loaded_rate = ExchangeRate.from_row(rate)
