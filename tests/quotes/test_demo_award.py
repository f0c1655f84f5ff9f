"""The demo leaves one RFQ quoted, one awarded (bookings visible in its members' capacity) and one cancelled
after its award (bookings released); seeding again changes nothing."""

from __future__ import annotations

from server import db
from server.demo.award import AWARDED, CANCELLED, QUOTED
from server.demo.seed import seed_demo


async def test_the_demo_has_a_quoted_an_awarded_and_a_cancelled_rfq(pool: db.Pool) -> None:
    await seed_demo(pool)

    async def state() -> dict[str, tuple[str, int, int, str | None]]:
        async with pool.acquire() as conn:
            rows = await conn.fetch(
                """
                SELECT r.title, r.status,
                       (SELECT count(*) FROM capacity_bookings b
                        WHERE b.rfq_id = r.id AND b.released_at IS NULL) AS live,
                       (SELECT count(*) FROM capacity_bookings b WHERE b.rfq_id = r.id) AS booked,
                       (SELECT q.status FROM quotes q WHERE q.rfq_id = r.id ORDER BY q.issued_at DESC LIMIT 1)
                           AS quote
                FROM rfqs r WHERE r.title = ANY($1::text[])
                """,
                [QUOTED, AWARDED, CANCELLED],
            )
        return {r["title"]: (r["status"], r["live"], r["booked"], r["quote"]) for r in rows}

    first = await state()
    assert first[QUOTED] == ("quoted", 0, 0, "issued")
    status, live, booked, quote = first[AWARDED]
    assert (status, quote) == ("awarded", "accepted")
    assert live == booked > 0
    status, live, booked, quote = first[CANCELLED]
    assert (status, live, quote) == ("cancelled", 0, "accepted")
    assert booked > 0
    await seed_demo(pool)
    assert await state() == first
