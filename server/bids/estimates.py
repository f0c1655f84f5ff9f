"""Offers on a work package: the firm bids, and estimates for eligible factories that did not bid.

Pure, like :mod:`server.bids.eligibility` (which decides who is eligible): the ``offers`` field and the
Problem builder call :func:`package_offers` with the rows they loaded, the latter with ``firm_only`` when a
request asks for firm offers only.

The estimate of a factory that is eligible but did not bid (``estimated=True``):

- hours per unit = the median hours per unit of the firm bids on the same package;
- unit price = the capability's hourly rate × that median, in whole JPY (half up), at least 1;
- setup = the capability's setup cost (JPY) and setup hours;
- max quantity = the capability's maximum lot when it is below the package's quantity;
- earliest start = today plus the capability's lead days.

No firm bid on the package means no estimate: there is nothing to scale the rates by.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from uuid import UUID

from server.bids.eligibility import FactorySpec, PackageSpec, evaluate


@dataclass(frozen=True)
class FirmBid:
    """What an offer needs of a stored bid."""

    factory_id: UUID
    package_id: UUID
    unit_price_jpy: int
    setup_cost_jpy: int
    hours_per_unit: Decimal
    setup_hours: Decimal
    max_quantity: int | None
    earliest_start: dt.date | None


@dataclass(frozen=True)
class Offer:
    """A factory's price and hours for a package: a firm bid, or an estimate (``estimated``)."""

    factory_id: UUID
    package_id: UUID
    unit_price_jpy: int
    setup_cost_jpy: int
    hours_per_unit: Decimal
    setup_hours: Decimal
    max_quantity: int | None
    earliest_start: dt.date | None
    estimated: bool


def median_hours_per_unit(bids: Iterable[FirmBid]) -> Decimal | None:
    """The median hours per unit of ``bids`` (mean of the middle two for an even count); None if none."""
    hours = [b.hours_per_unit for b in bids]
    return statistics.median(hours) if hours else None


def estimate_offer(
    package: PackageSpec, factory: FactorySpec, firm_bids: Sequence[FirmBid], *, today: dt.date
) -> Offer | None:
    """The estimated offer of ``factory`` on ``package`` from the firm bids on it; None without any firm bid
    or without a capability for the package's process. Eligibility is the caller's business."""
    capability = factory.capabilities.get(package.process_code)
    hours_per_unit = median_hours_per_unit(b for b in firm_bids if b.package_id == package.id)
    if capability is None or hours_per_unit is None:
        return None
    unit_price = (capability.hourly_rate_jpy * hours_per_unit).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return Offer(
        factory_id=factory.id,
        package_id=package.id,
        unit_price_jpy=max(1, int(unit_price)),
        setup_cost_jpy=capability.setup_cost_jpy,
        hours_per_unit=hours_per_unit,
        setup_hours=capability.setup_hours,
        max_quantity=capability.max_lot if capability.max_lot < package.quantity else None,
        earliest_start=today + dt.timedelta(days=capability.lead_days),
        estimated=True,
    )


def firm_offer(bid: FirmBid) -> Offer:
    return Offer(
        factory_id=bid.factory_id,
        package_id=bid.package_id,
        unit_price_jpy=bid.unit_price_jpy,
        setup_cost_jpy=bid.setup_cost_jpy,
        hours_per_unit=bid.hours_per_unit,
        setup_hours=bid.setup_hours,
        max_quantity=bid.max_quantity,
        earliest_start=bid.earliest_start,
        estimated=False,
    )


def package_offers(
    package: PackageSpec,
    factories: Iterable[FactorySpec],
    bids: Iterable[FirmBid],
    *,
    today: dt.date,
    firm_only: bool = False,
) -> list[Offer]:
    """Every offer on ``package``: its firm bids, then (unless ``firm_only``) an estimate for each factory
    of ``factories`` that is eligible today (:func:`server.bids.eligibility.evaluate`) and did not bid."""
    firm = [b for b in bids if b.package_id == package.id]
    offers = [firm_offer(b) for b in firm]
    if firm_only or not firm:
        return offers
    bidders = {b.factory_id for b in firm}
    for factory in factories:
        if factory.id in bidders or not evaluate(package, factory, today=today).eligible:
            continue
        estimate = estimate_offer(package, factory, firm, today=today)
        if estimate is not None:
            offers.append(estimate)
    return offers


__all__ = ["FirmBid", "Offer", "estimate_offer", "firm_offer", "median_hours_per_unit", "package_offers"]
