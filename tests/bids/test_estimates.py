"""server.bids.estimates: firm bids and estimates for eligible factories that did not bid (pure)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from server.bids.estimates import FirmBid, estimate_offer, median_hours_per_unit, package_offers
from tests.bids.test_eligibility import DUE, TODAY, capability, factory, package


def bid(factory_name: str, hours_per_unit: str, *, price: int = 2000) -> FirmBid:
    return FirmBid(
        factory_id=uuid.uuid5(uuid.NAMESPACE_DNS, factory_name),
        package_id=package().id,
        unit_price_jpy=price,
        setup_cost_jpy=30_000,
        hours_per_unit=Decimal(hours_per_unit),
        setup_hours=Decimal(3),
        max_quantity=None,
        earliest_start=None,
    )


def test_median_of_an_odd_and_an_even_number_of_bids() -> None:
    assert median_hours_per_unit([bid("a", "0.1"), bid("b", "0.5"), bid("c", "0.2")]) == Decimal("0.2")
    assert median_hours_per_unit([bid("a", "0.1"), bid("b", "0.4")]) == Decimal("0.25")
    assert median_hours_per_unit([]) is None


def test_an_estimate_is_the_hourly_rate_times_the_median_plus_the_capability_setup() -> None:
    rates = capability(hourly_rate_jpy=7000, setup_cost_jpy=15_000, setup_hours=Decimal("1.5"), lead_days=5)
    quiet = factory(rates, name="Quiet")
    firm = [bid("a", "0.1"), bid("b", "0.3"), bid("c", "0.2")]
    offer = estimate_offer(package(), quiet, firm, today=TODAY)
    assert offer is not None
    assert offer.estimated
    assert offer.hours_per_unit == Decimal("0.2")
    assert offer.unit_price_jpy == 1400  # 7000 × 0.2
    assert (offer.setup_cost_jpy, offer.setup_hours) == (15_000, Decimal("1.5"))
    assert offer.earliest_start == TODAY + dt.timedelta(days=5)
    assert offer.max_quantity is None  # its max lot (10000) covers the 500 pieces


def test_no_firm_bid_no_estimate() -> None:
    assert estimate_offer(package(), factory(), [], today=TODAY) is None
    assert package_offers(package(), [factory()], [], today=TODAY) == []


def test_offers_hold_firm_bids_and_estimates_of_eligible_non_bidders_only() -> None:
    bidder = factory(name="a")
    quiet = factory(name="Quiet")
    uncertified = factory(name="Uncertified", certifications={})
    firm = [bid("a", "0.25")]
    offers = package_offers(package(), [bidder, quiet, uncertified], firm, today=TODAY)
    assert [(o.factory_id, o.estimated) for o in offers] == [(bidder.id, False), (quiet.id, True)]
    assert offers[1].unit_price_jpy == 1500  # 6000 × 0.25


def test_firm_only_leaves_the_estimates_out() -> None:
    offers = package_offers(
        package(), [factory(name="Quiet")], [bid("a", "0.25")], today=TODAY, firm_only=True
    )
    assert [o.estimated for o in offers] == [False]
    assert DUE > TODAY
