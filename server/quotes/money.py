"""Quote arithmetic, pure: the consortium's cost with the margin, converted and rounded per line.

Amounts in the database are whole JPY; a quote's amounts are in its currency with that currency's minor
units (ISO 4217 exponent: JPY 0, USD 2). pycountry knows the codes but not the exponents, so the exponents
that are not 2 are listed here from the ISO 4217 list (SIX Financial Information, the maintenance agency).

Rounding, in this order (``docs/quotes.md``):

1. the price of a line in JPY = its cost (its packages' agreed production + setup, plus its share of the
   transport cost, pro rata of production + setup) × (1 + margin), exact (no rounding);
2. converted at the rate (``jpy_per_unit``) and divided by the quantity, the **unit price is rounded half up
   to the currency's minor unit** — once, per line;
3. a line's amount = unit price × quantity (exact), and the quote's **total = Σ line amounts**, so the total
   the buyer sees always adds up. It may differ from the exact converted price by less than half a minor
   unit per piece.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from uuid import UUID

# ISO 4217 minor units that are not 2 (currencies with no minor unit ("N.A.") are left out: not tradeable).
_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(
        (
            "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV",
            "XAF", "XOF", "XPF",
        ),
        0,
    ),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}  # fmt: skip

MAX_QUOTE_EXPONENT = 2
"""``quotes.total_amount`` holds two decimals (migration 0011): currencies with 3 or 4 minor digits cannot be
quoted in yet."""


def minor_units(currency: str) -> int:
    """The ISO 4217 exponent of ``currency`` (2 unless listed otherwise)."""
    return _EXPONENTS.get(currency, 2)


def round_to_minor(amount: Decimal, currency: str) -> Decimal:
    """``amount`` rounded half up to ``currency``'s minor unit."""
    return amount.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineCost:
    """One RFQ line's share of the consortium's agreed cost, whole JPY (production and setup)."""

    line_id: UUID
    quantity: int
    cost_jpy: int


@dataclass(frozen=True)
class PricedLine:
    line_id: UUID
    quantity: int
    unit_price: Decimal  # in the quote's currency, rounded to its minor unit
    amount: Decimal  # unit_price × quantity


@dataclass(frozen=True)
class Priced:
    cost_jpy: int  # production + setup + transport, whole JPY
    lines: tuple[PricedLine, ...]
    total_amount: Decimal  # Σ line amounts, in the currency


def price_lines(
    lines: Sequence[LineCost],
    *,
    transport_jpy: int,
    margin_pct: Decimal,
    jpy_per_unit: Decimal,
    currency: str,
) -> Priced:
    """The quote's per-line unit prices and total (see the module docstring for the rounding)."""
    base = sum(line.cost_jpy for line in lines)
    factor = 1 + margin_pct / 100
    priced = []
    for line in lines:
        if base:
            transport_share = Decimal(transport_jpy) * line.cost_jpy / base
        else:
            transport_share = Decimal(transport_jpy) / len(lines)
        price_jpy = (line.cost_jpy + transport_share) * factor
        unit_price = round_to_minor(price_jpy / jpy_per_unit / line.quantity, currency)
        priced.append(
            PricedLine(
                line_id=line.line_id,
                quantity=line.quantity,
                unit_price=unit_price,
                amount=unit_price * line.quantity,
            )
        )
    return Priced(
        cost_jpy=base + transport_jpy,
        lines=tuple(priced),
        total_amount=sum((p.amount for p in priced), Decimal(0)),
    )


def line_costs(shares: Sequence[tuple[UUID, int, int]], quantities: Mapping[UUID, int]) -> list[LineCost]:
    """Sum the members' shares ``(line id, quantity × agreed unit price, setup cost)`` per RFQ line;
    ``quantities`` are the lines' ordered quantities (every line of the RFQ, in order)."""
    cost: dict[UUID, int] = dict.fromkeys(quantities, 0)
    for line_id, production, setup in shares:
        cost[line_id] = cost.get(line_id, 0) + production + setup
    return [LineCost(line_id=i, quantity=q, cost_jpy=cost[i]) for i, q in quantities.items()]


__all__ = [
    "MAX_QUOTE_EXPONENT",
    "LineCost",
    "Priced",
    "PricedLine",
    "line_costs",
    "minor_units",
    "price_lines",
    "round_to_minor",
]
