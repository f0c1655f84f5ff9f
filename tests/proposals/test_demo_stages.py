"""The demo leaves one RFQ with bids, ready to solve, and one with proposals to review (besides the award
stages of server/demo/award.py, tested in tests/quotes/test_demo_award.py)."""

from __future__ import annotations

from server import db
from server.demo.award import STAGES as AWARD_STAGES
from server.demo.seed import seed_demo


async def test_the_demo_has_an_rfq_to_solve_and_one_to_review(pool: db.Pool) -> None:
    await seed_demo(pool)
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            """
            SELECT r.title, r.status,
                   (SELECT count(*) FROM bids b JOIN rfq_packages p ON p.id = b.package_id
                    WHERE p.rfq_id = r.id) AS bids,
                   (SELECT count(*) FROM proposals pr WHERE pr.rfq_id = r.id) AS proposals
            FROM rfqs r WHERE NOT r.title = ANY($1::text[]) ORDER BY r.created_at
            """,
            list(AWARD_STAGES),
        )
        jobs = await conn.fetch(
            "SELECT j.status FROM solve_jobs j JOIN rfqs r ON r.id = j.rfq_id "
            "WHERE NOT r.title = ANY($1::text[])",
            list(AWARD_STAGES),
        )
    ready, reviewed = (
        [r for r in rows if r["bids"] > 0 and r["proposals"] == 0],
        # RFQs further on (proposed, quoted, …) are other stages of the demo
        [r for r in rows if r["proposals"] > 0 and r["status"] == "open"],
    )
    assert len(ready) == 1
    assert len(reviewed) == 1
    assert {j["status"] for j in jobs} == {"succeeded"}
    # seeding again adds nothing
    await seed_demo(pool)
    async with pool.acquire() as conn:
        assert await conn.fetchval(
            "SELECT count(*) FROM proposals p JOIN rfqs r ON r.id = p.rfq_id "
            "WHERE NOT r.title = ANY($1::text[])",
            list(AWARD_STAGES),
        ) == sum(r["proposals"] for r in rows)
