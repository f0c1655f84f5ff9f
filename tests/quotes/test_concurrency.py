"""Two quotes whose awards would overbook one factory-week, accepted at the same time: exactly one award.

Each repetition: two RFQs whose approved proposals both give the same turning factory 30 of its 40 hours in
the same week; both quoted; both buyers accept concurrently (separate connections). Exactly one RFQ is
awarded with its bookings; the other gets CAPACITY_CONFLICT, its quote is withdrawn, its RFQ is back to
``proposed`` and a repair is asked for with the short member's share re-planned. The winner is then
cancelled (releasing its hours) for the next repetition.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from uuid import UUID

from server import db
from server.errors import ErrorCode, ValidationFailed
from server.quotes import service
from server.rfqs import service as rfq_service
from tests.conftest import Caller, jst_today, make_buyer, utc_now
from tests.quotes.conftest import approved, invite, members, week

REPETITIONS = 20


async def test_two_conflicting_awards_at_once_always_give_exactly_one_award(
    pool: db.Pool, coordinator: Caller, buyer: Caller
) -> None:
    other = await make_buyer(pool, coordinator, "Second Buyer Inc.", "US")
    turning, inspection = await members(pool, "c")
    _, inspection_b = await members(pool, "d")
    winners = {"first": 0, "second": 0}
    for _ in range(REPETITIONS):
        quotes = []
        for who, inspector in ((buyer, inspection), (other, inspection_b)):
            world = await approved(pool, who, coordinator, turning=turning, inspection=inspector)
            await invite(pool, world.proposal_id)
            quote = await service.issue_quote(
                pool,
                coordinator.principal,
                proposal_id=world.proposal_id,
                margin_pct=Decimal(5),
                valid_until=jst_today(),
                currency="JPY",
                today=jst_today(),
                now=utc_now(),
            )
            quotes.append((who, quote))

        async def accept(who: Caller, quote_id: UUID) -> str:
            try:
                await service.accept_quote(
                    pool,
                    who.principal,
                    quote_id=quote_id,
                    idempotency_key="k",
                    today=jst_today(),
                    now=utc_now(),
                )
            except ValidationFailed as failed:
                (error,) = failed.errors
                assert error.code is ErrorCode.CAPACITY_CONFLICT
                return "conflict"
            return "awarded"

        outcomes = await asyncio.gather(*(accept(who, q.id) for who, q in quotes))
        assert sorted(outcomes) == ["awarded", "conflict"]
        winners["first" if outcomes[0] == "awarded" else "second"] += 1
        async with pool.acquire() as conn:
            statuses = [
                await conn.fetchval("SELECT status FROM rfqs WHERE id = $1", q.rfq_id) for _, q in quotes
            ]
            quote_statuses = [
                await conn.fetchval("SELECT status FROM quotes WHERE id = $1", q.id) for _, q in quotes
            ]
            booked = await conn.fetchval(
                """
                SELECT sum(hours) FROM capacity_bookings
                WHERE factory_id = $1 AND process_code = 'cnc_turning' AND week_start = $2
                  AND released_at IS NULL
                """,
                turning.factory_id,
                week(2),
            )
        winner = outcomes.index("awarded")
        assert statuses[winner] == "awarded"
        assert statuses[1 - winner] == "proposed"
        assert quote_statuses[winner] == "accepted"
        assert quote_statuses[1 - winner] == "withdrawn"
        assert booked == Decimal(30)
        # The loser needs a repair: the turning member's accepted share (the hours the winner took) is
        # withdrawn, not fixed, and the repair solve is queued; the inspection share stays accepted.
        loser = quotes[1 - winner][1].proposal_id
        async with pool.acquire() as conn:
            shares = {
                r["factory_id"]: r["status"]
                for r in await conn.fetch(
                    "SELECT factory_id, status FROM invitations WHERE proposal_id = $1", loser
                )
            }
            # This file's proposals hold only what quotes need, not a whole solver Problem, so the repair
            # ends as "impossible" (its event); the repair itself is tested with declines (tests/invitations).
            repairs = await conn.fetchval(
                "SELECT count(*) FROM rfq_events WHERE rfq_id = $1 AND kind = ANY($2::text[])",
                quotes[1 - winner][1].rfq_id,
                ["proposal.repair_queued", "proposal.repair_impossible"],
            )
        assert shares[turning.factory_id] == "withdrawn"
        assert sorted(shares.values()) == ["accepted", "withdrawn"]
        assert repairs == 1
        # Release the winner's hours for the next round.
        rfq = quotes[winner][1].rfq_id
        await rfq_service.cancel_rfq(
            pool, coordinator.principal, rfq_id=rfq, reason="next round", now=utc_now()
        )
    assert sum(winners.values()) == REPETITIONS
