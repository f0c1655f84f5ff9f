"""Demo stage: sealed bids on the first demo RFQ (the cobot joint, too large for any single factory).

Every factory eligible for a package (:mod:`server.bids.eligibility`) up to ``BIDDERS_PER_PACKAGE``, in
candidate order, bids through :func:`server.bids.service.submit_bid`, exactly as an owner would over the
API, with deterministic figures around its own capability rates.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from decimal import Decimal

from server.auth import service as auth_service
from server.auth.principal import Principal, Role
from server.bids import repo as bids_repo
from server.bids import service as bid_service
from server.clock import JST, end_of_day_jst
from server.db import Pool
from server.demo.generate import DEMO_SEED

BIDDERS_PER_PACKAGE = 4

# Typical machine hours per piece by process, for the demo's bids (a small cobot part).
HOURS_PER_UNIT: dict[str, Decimal] = {
    "cnc_milling": Decimal("0.35"),
    "cnc_turning": Decimal("0.12"),
    "anodizing": Decimal("0.02"),
    "carburizing": Decimal("0.03"),
    "cylindrical_grinding": Decimal("0.08"),
    "cmm_inspection": Decimal("0.05"),
    "cleaning_inspection": Decimal("0.02"),
}
DEFAULT_HOURS_PER_UNIT = Decimal("0.1")


async def seed_demo_bids(
    pool: Pool, *, rfq_title: str, today: dt.date, report: Callable[[str], None]
) -> str | None:
    """Bid on the RFQ titled ``rfq_title`` unless it has bids already; what was done, or None."""
    async with pool.acquire() as conn:
        rfq = await conn.fetchrow(
            "SELECT id, nda_required FROM rfqs WHERE title = $1 AND status = 'open' "
            "ORDER BY created_at LIMIT 1",
            rfq_title,
        )
        if rfq is None:
            return None
        rfq_id = rfq["id"]
        has_bids = await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM bids b JOIN rfq_packages p ON p.id = b.package_id "
            "WHERE p.rfq_id = $1)",
            rfq_id,
        )
        packages = await bids_repo.packages_by_rfq_ids(conn, rfq_ids=[rfq_id])
        now = dt.datetime.combine(today, dt.time(12), tzinfo=JST)
        if has_bids or not packages or now >= end_of_day_jst(packages[0].bid_deadline):
            return None
        report(f"placing demo bids on {rfq_title!r}")
        verdicts = await bid_service.eligibility_of(
            conn, packages=packages, where=bids_repo.FactoryFilter(), today=today
        )
        factories = {
            f.id: f
            for f in await bid_service.load_factory_specs(
                conn, packages=packages, where=bids_repo.FactoryFilter(), today=today
            )
        }
    rng = random.Random(DEMO_SEED)
    bidders: set[object] = set()
    placed = 0
    for package in packages:
        eligible = [v for v in verdicts[package.id] if v.eligible][:BIDDERS_PER_PACKAGE]
        for verdict in eligible:
            factory = factories[verdict.factory_id]
            capability = factory.capabilities[package.process_code]
            base = HOURS_PER_UNIT.get(package.process_code, DEFAULT_HOURS_PER_UNIT)
            hours = (base * Decimal(str(round(rng.uniform(0.8, 1.25), 2)))).quantize(Decimal("0.0001"))
            margin = Decimal(str(round(rng.uniform(1.1, 1.35), 2)))
            owner = Principal(Role.FACTORY_OWNER, user_id=factory.owner_user_id)
            if rfq["nda_required"]:
                # An owner who bids on an NDA RFQ has accepted the platform NDA (else it would not see it).
                await auth_service.accept_nda(pool, owner, now=now)
            await bid_service.submit_bid(
                pool,
                owner,
                bid_service.BidInput(
                    package_id=package.id,
                    factory_id=factory.id,
                    unit_price_jpy=max(1, int(capability.hourly_rate_jpy * hours * margin)),
                    setup_cost_jpy=capability.setup_cost_jpy,
                    hours_per_unit=hours,
                    setup_hours=capability.setup_hours,
                    max_quantity=capability.max_lot if capability.max_lot < package.quantity else None,
                    valid_until=package.bid_deadline + dt.timedelta(days=60),
                    note="Demo bid.",
                ),
                now=now,
            )
            bidders.add(factory.id)
            placed += 1
    return f"{placed} bids from {len(bidders)} factories" if placed else None


__all__ = ["seed_demo_bids"]
