"""Demo stages of the award (issue 8, award-quotes): one RFQ quoted, one awarded, one cancelled after award.

Each is a small RFQ of its own (flanges: turning, then CMM inspection) by one of the demo buyers, taken
through the same services the API uses: bids (:mod:`server.demo.bids`), a solve
(:mod:`server.demo.proposals`), the coordinator's approval (the invitations), every member accepting its
invitation (:func:`server.invitations.answers.accept_invitation`, as ``invitationAccept`` does), exchange
rates and the quote, the buyer's accept (the members' capacity is booked) and, for the last one, the
coordinator's cancellation (its bookings are released). Each step looks at where its RFQ stands, so a run
that stopped half-way is completed by the next, and a second run changes nothing.

The exchange rates are demo figures, not market data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from uuid import UUID

from server.auth import repo as auth_repo
from server.auth.principal import Principal, Role
from server.auth.tokens import token_hash
from server.clock import JST
from server.db import Pool
from server.demo.bids import seed_demo_bids
from server.demo.proposals import seed_demo_proposals
from server.invitations import answers
from server.invitations import repo as invitations_repo
from server.proposals import repo as proposals_repo
from server.proposals import service as proposals_service
from server.quotes import rates
from server.quotes import repo as quotes_repo
from server.quotes import service as quotes_service
from server.rfqs import service as rfq_service
from server.rfqs.service import LineInput, OperationInput, RfqInput
from server.settings import Settings

DEMO_RATES = {"USD": Decimal("151.25"), "EUR": Decimal("163.40"), "SGD": Decimal("112.80")}
QUOTED = "Demo stage: quoted — turned flanges, 300 pieces"
AWARDED = "Demo stage: awarded — turned flanges, 400 pieces"
CANCELLED = "Demo stage: cancelled after award — turned flanges, 250 pieces"
STAGES = (QUOTED, AWARDED, CANCELLED)


def stage_rfq(title: str, today: dt.date, quantity: int, country: str) -> RfqInput:
    return RfqInput(
        title=title,
        description="A demo of the award stages: a small lot, turned and inspected.",
        incoterm="DAP",
        destination_country=country,
        due_date=today + dt.timedelta(weeks=10),
        bid_deadline=today + dt.timedelta(weeks=2),
        lines=[
            LineInput(
                part_number="FL-80",
                name="Flange",
                material="S45C",
                quantity=quantity,
                tolerance_um=Decimal("20"),
                envelope_mm=80,
                operations=[OperationInput("cnc_turning"), OperationInput("cmm_inspection")],
            )
        ],
    )


async def _rfq(pool: Pool, title: str) -> tuple[UUID, str] | None:
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT id, status FROM rfqs WHERE title = $1 ORDER BY created_at LIMIT 1", title
        )
    return (row["id"], row["status"]) if row else None


async def _members_accept(pool: Pool, *, proposal_id: UUID, now: dt.datetime) -> None:
    """Every member whose invitation is pending accepts it as its owner would over the API
    (``invitationAccept``): estimated prices confirmed as they are, so the total does not drift."""
    async with pool.acquire() as conn:
        invitations = await invitations_repo.invitations_of_proposals(conn, proposal_ids=[proposal_id])
    for invitation in invitations:
        if invitation.status == "pending":
            await answers.accept_invitation(
                pool,
                Principal(Role.FACTORY_OWNER, user_id=invitation.owner_user_id),
                invitation_id=invitation.id,
                now=now,
                price_tolerance_pct=Settings.price_tolerance_pct,
            )


async def seed_demo_award(
    pool: Pool,
    *,
    buyer_keys: list[str],
    coordinator_id: UUID,
    today: dt.date,
    report: Callable[[str], None],
) -> str | None:
    """Take the three stage RFQs as far as their stage; what was done, or None."""
    now = dt.datetime.combine(today, dt.time(12), tzinfo=JST)
    coordinator = Principal(Role.COORDINATOR, user_id=coordinator_id)
    buyers = []
    async with pool.acquire() as conn:
        for secret in buyer_keys:
            key = await auth_repo.api_key_principal(conn, key_hash=token_hash(secret))
            assert key is not None
            buyers.append(Principal(Role.BUYER, buyer_id=key.buyer_id, api_key_id=key.api_key_id))
        have_rates = {r.currency for r in await quotes_repo.rate_history(conn, currency=None, limit=100)}
    done: list[str] = []
    for currency, rate in DEMO_RATES.items():
        if currency not in have_rates:
            await rates.set_rate(
                pool, coordinator, currency=currency, jpy_per_unit=rate, today=today, now=now
            )
    plan = (
        (QUOTED, buyers[1], 300, "DE"),
        (AWARDED, buyers[0], 400, "US"),
        (CANCELLED, buyers[2], 250, "SG"),
    )
    for title, buyer, quantity, country in plan:
        found = await _rfq(pool, title)
        if found is None:
            report(f"submitting the demo RFQ {title!r}")
            await rfq_service.submit_rfq(pool, buyer, stage_rfq(title, today, quantity, country), today=today)
            found = await _rfq(pool, title)
            assert found is not None
        rfq_id, status = found
        if status == "open":
            await seed_demo_bids(pool, rfq_title=title, today=today, report=report)
            await seed_demo_proposals(
                pool, rfq_title=title, coordinator_id=coordinator_id, today=today, report=report
            )
            async with pool.acquire() as conn:
                proposals = await proposals_repo.proposals_of_rfq(conn, rfq_id=rfq_id)
            feasible = [p for p in proposals if p.solver_status in ("optimal", "feasible")]
            if not feasible:
                report(f"no consortium for {title!r}: left open")
                continue
            await proposals_service.approve_proposal(
                pool,
                coordinator,
                proposal_id=feasible[0].id,
                expected_version=feasible[0].row_version,
                now=now,
            )
            status = "proposed"
        if status == "proposed":
            async with pool.acquire() as conn:
                proposal_id: UUID = await conn.fetchval(
                    "SELECT id FROM proposals WHERE rfq_id = $1 AND review_state = 'approved'", rfq_id
                )
            await _members_accept(pool, proposal_id=proposal_id, now=now)
            await quotes_service.issue_quote(
                pool,
                coordinator,
                proposal_id=proposal_id,
                margin_pct=Decimal(12),
                valid_until=today + dt.timedelta(days=21),
                today=today,
                now=now,
            )
            status = "quoted"
            done.append(f"a quoted RFQ ({country})")
        if status == "quoted" and title != QUOTED:
            async with pool.acquire() as conn:
                quote_id: UUID = await conn.fetchval(
                    "SELECT id FROM quotes WHERE rfq_id = $1 AND status = 'issued'", rfq_id
                )
            await quotes_service.accept_quote(
                pool, buyer, quote_id=quote_id, idempotency_key=f"demo-{rfq_id}", today=today, now=now
            )
            status = "awarded"
            done.append(f"an award with bookings ({country})")
        if status == "awarded" and title == CANCELLED:
            await rfq_service.cancel_rfq(
                pool,
                coordinator,
                rfq_id=rfq_id,
                reason="Demo: the buyer's project was stopped after the award.",
                now=now,
            )
            done.append("a cancelled award (bookings released)")
    return ", ".join(done) if done else None


__all__ = ["STAGES", "seed_demo_award"]
