"""seed --demo leaves the first demo RFQ (too large for any single factory) with bids from six factories."""

from __future__ import annotations

from server import db
from server.demo import seed_demo
from server.demo.seed import demo_rfqs
from tests.conftest import jst_today


async def test_the_first_demo_rfq_has_bids_from_at_least_six_factories(pool: db.Pool) -> None:
    first = await seed_demo(pool)
    second = await seed_demo(pool)
    assert "bids from" in first
    assert second.startswith("demo data is already loaded")
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            """
            SELECT count(*) AS bids, count(DISTINCT b.factory_id) AS factories,
                   count(DISTINCT b.package_id) AS packages
            FROM bids b JOIN rfq_packages p ON p.id = b.package_id JOIN rfqs r ON r.id = p.rfq_id
            WHERE r.title = $1
            """,
            demo_rfqs(jst_today())[0].title,
        )
        events = await conn.fetchval(
            """
            SELECT count(*) FROM rfq_events e JOIN rfqs r ON r.id = e.rfq_id
            WHERE e.kind = 'bid.submitted' AND r.title = $1
            """,
            demo_rfqs(jst_today())[0].title,
        )
    assert row is not None
    assert row["factories"] >= 6
    assert row["packages"] >= 4
    assert events == row["bids"]
