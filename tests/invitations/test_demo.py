"""The demo leaves one RFQ proposed, its invitations pending, one member declined and the consortium
repaired."""

from __future__ import annotations

from server import db
from server.demo.invitations import INVITATIONS_RFQ_TITLE
from server.demo.seed import seed_demo


async def test_the_demo_has_an_rfq_with_a_declined_and_repaired_consortium(pool: db.Pool) -> None:
    await seed_demo(pool)
    async with pool.acquire() as conn:
        rfq = await conn.fetchrow("SELECT id, status FROM rfqs WHERE title = $1", INVITATIONS_RFQ_TITLE)
        assert rfq is not None
        assert rfq["status"] == "proposed"
        rows = await conn.fetch(
            """
            SELECT p.version, p.review_state, i.status, i.carried_from_id IS NOT NULL AS carried
            FROM proposals p JOIN invitations i ON i.proposal_id = p.id
            WHERE p.rfq_id = $1 ORDER BY p.version
            """,
            rfq["id"],
        )
    first = [r for r in rows if r["version"] == 1]
    repaired = [r for r in rows if r["version"] == 2]
    assert {r["review_state"] for r in first} == {"superseded"}
    assert sorted(r["status"] for r in first).count("declined") == 1
    assert {r["review_state"] for r in repaired} == {"approved"}
    assert any(r["status"] == "accepted" and r["carried"] for r in repaired)
    assert any(r["status"] == "pending" and not r["carried"] for r in repaired)
    # seeding again changes nothing
    await seed_demo(pool)
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM invitations WHERE rfq_id = $1", rfq["id"]) == len(
            rows
        )
