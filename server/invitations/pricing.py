"""Prices of an approved proposal: the drift accepted prices cause, and the coordinator's confirmation.

An estimated share's accept confirms or adjusts its unit prices. When the accepted shares together move the
proposal's total (``proposals.total_cost_jpy``) by more than the tolerance (``Settings.price_tolerance_pct``,
default 5 %), ``proposals.price_confirmation_required`` is set and no quote can be issued until a
coordinator confirms the new total (:func:`confirm_prices`). The drift is re-checked on every accept that
adjusts a price, over all accepted shares, so a confirmation covers the prices as they were then.
"""

from __future__ import annotations

import datetime as dt
from uuid import UUID

from server.auth.principal import Principal, Role
from server.db import Connection, Pool, transaction
from server.errors import ErrorCode, NotFound, fail
from server.proposals import repo as proposals_repo
from server.rfqs import events
from server.rfqs import repo as rfqs_repo


async def price_drift(conn: Connection, *, proposal_id: UUID) -> tuple[int, int | None]:
    """(Σ agreed − offered over the accepted shares, the proposal's total) in JPY."""
    row = await conn.fetchrow(
        """
        SELECT p.total_cost_jpy,
               coalesce(sum(i.agreed_price_jpy - i.offered_price_jpy)
                        FILTER (WHERE i.status = 'accepted'), 0)::bigint AS drift
        FROM proposals p LEFT JOIN invitations i ON i.proposal_id = p.id
        WHERE p.id = $1
        GROUP BY p.id
        """,
        proposal_id,
    )
    assert row is not None
    return int(row["drift"]), row["total_cost_jpy"]


def beyond_tolerance(drift: int, total: int | None, tolerance_pct: float) -> bool:
    """Whether ``drift`` moves ``total`` by more than ``tolerance_pct`` percent (any drift of a zero
    total does)."""
    if drift == 0:
        return False
    if not total:
        return True
    return abs(drift) * 100 > tolerance_pct * total


async def check_drift(
    conn: Connection, principal: Principal, *, proposal_id: UUID, rfq_id: UUID, tolerance_pct: float
) -> bool:
    """Set ``price_confirmation_required`` when the accepted prices drifted beyond the tolerance (with an
    event); returns whether a confirmation is now required."""
    drift, total = await price_drift(conn, proposal_id=proposal_id)
    if not beyond_tolerance(drift, total, tolerance_pct):
        return bool(
            await conn.fetchval(
                "SELECT price_confirmation_required FROM proposals WHERE id = $1", proposal_id
            )
        )
    changed = await conn.fetchval(
        """
        UPDATE proposals SET price_confirmation_required = true, row_version = row_version + 1
        WHERE id = $1 AND NOT price_confirmation_required
        RETURNING id
        """,
        proposal_id,
    )
    if changed is not None:
        await events.record(
            conn,
            principal,
            rfq_id=rfq_id,
            kind=events.EventKind.PROPOSAL_PRICE_CONFIRMATION_REQUIRED,
            payload={
                "proposal": str(proposal_id),
                "driftJpy": drift,
                "totalJpy": total,
                "tolerancePct": tolerance_pct,
            },
        )
    return True


async def confirm_prices(
    pool: Pool, principal: Principal, *, proposal_id: UUID, now: dt.datetime
) -> proposals_repo.Proposal:
    """A coordinator confirms the approved proposal's total as the members' accepted prices make it.

    INVALID_STATE when the proposal is not the approved one or needs no confirmation.
    """
    principal.require_role(Role.COORDINATOR)
    async with transaction(pool) as conn:
        proposal = await proposals_repo.proposal_by_id(conn, proposal_id=proposal_id)
        if proposal is None:
            raise NotFound("No such proposal.")
        await rfqs_repo.rfq_for_update(conn, rfq_id=proposal.rfq_id)
        locked = await proposals_repo.proposal_by_id(conn, proposal_id=proposal_id, for_update=True)
        assert locked is not None
        if locked.review_state != "approved":
            raise fail(
                None, ErrorCode.INVALID_STATE, f"This proposal is {locked.review_state}, not approved."
            )
        if not locked.price_confirmation_required:
            raise fail(None, ErrorCode.INVALID_STATE, "This proposal's prices need no confirmation.")
        drift, total = await price_drift(conn, proposal_id=proposal_id)
        await conn.execute(
            """
            UPDATE proposals SET price_confirmation_required = false, row_version = row_version + 1
            WHERE id = $1
            """,
            proposal_id,
        )
        await events.record(
            conn,
            principal,
            rfq_id=locked.rfq_id,
            kind=events.EventKind.PROPOSAL_PRICES_CONFIRMED,
            payload={
                "proposal": str(proposal_id),
                "driftJpy": drift,
                "totalJpy": total,
                "at": now.isoformat(),
            },
        )
        confirmed = await proposals_repo.proposal_by_id(conn, proposal_id=proposal_id)
        assert confirmed is not None
        return confirmed


__all__ = ["beyond_tolerance", "check_drift", "confirm_prices", "price_drift"]
