"""Invitations as members and coordinators see them: read one, list the open ones, accept, decline.

- Only the invited factory's owner and coordinators see an invitation (:mod:`server.invitations.rules`);
  another caller's is NOT_FOUND. Only the owner answers: a coordinator answering is FORBIDDEN.
- :func:`accept_invitation`: an estimated line's unit price may be confirmed (left out) or adjusted; a firm
  bid's price is the bid. A price drift beyond the tolerance asks a coordinator to confirm the proposal's
  total (:mod:`server.invitations.pricing`).
- :func:`decline_invitation`: with a reason; queues the repair solve (:mod:`server.invitations.repair`).
- Answering after the deadline is ANSWER_DEADLINE_PASSED; an invitation that is no longer pending is
  INVALID_STATE. Nothing is written when an answer is refused.

Lock order, shared with the approval and the deadline task: the RFQ, then the proposal, then invitations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from server import pagination
from server.auth.principal import Principal, Role
from server.clock import JST
from server.db import Connection, Pool, transaction
from server.errors import ErrorCode, NotFound, ValidationFailed, fail
from server.invitations import pricing, repair, repo, rules
from server.invitations.invite import invitation_event
from server.proposals import repo as proposals_repo
from server.rfqs import events
from server.rfqs import repo as rfqs_repo
from server.rfqs.lifecycle import RfqStatus
from server.validation import Errors, clean_text

MAX_UNIT_PRICE_JPY = 10**10
"""Largest unit price an accept may name (the bids' own limit is lower; this only keeps sums in bigint)."""


@dataclass(frozen=True)
class PriceAdjustment:
    """The member's unit price for one estimated line of its share."""

    package_id: UUID
    unit_price_jpy: int


# --- reading ---------------------------------------------------------------------------------------------


async def get_invitation(pool: Pool, principal: Principal, *, invitation_id: UUID) -> repo.Invitation:
    """One invitation the caller may see; NOT_FOUND otherwise."""
    principal.require_role(Role.FACTORY_OWNER, Role.COORDINATOR)
    async with pool.acquire() as conn:
        invitation = await repo.invitation_by_id(conn, invitation_id=invitation_id)
    if invitation is None or not rules.may_see_invitation(principal, invitation):
        raise NotFound("No such invitation.")
    return invitation


async def open_invitations(
    pool: Pool, principal: Principal, *, first: int | None, after: str | None
) -> pagination.Page[repo.Invitation]:
    """The caller's pending invitations (of the factories it owns), soonest deadline first. Owners only."""
    principal.require_role(Role.FACTORY_OWNER)
    assert principal.user_id is not None
    owner = principal.user_id
    limit = pagination.page_size(first)
    key: tuple[dt.datetime, UUID] | None = None
    if after is not None:
        at, invitation = pagination.decode_cursor(after, length=2)
        try:
            key = (dt.datetime.fromisoformat(at), UUID(invitation))
        except (TypeError, ValueError):
            raise fail("after", ErrorCode.INVALID, "This cursor is not valid.") from None
    async with pool.acquire() as conn:
        rows = await repo.open_invitations_of_owner(conn, owner_user_id=owner, limit=limit, after=key)

    async def total() -> int:
        async with pool.acquire() as conn:
            return await repo.count_open_invitations_of_owner(conn, owner_user_id=owner)

    return pagination.page_of(
        rows, limit=limit, cursor_key=lambda i: [i.answer_by.isoformat(), str(i.id)], total_count=total
    )


# --- answering -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Answering:
    invitation: repo.Invitation
    proposal: proposals_repo.Proposal


async def _to_answer(
    conn: Connection, principal: Principal, invitation_id: UUID, now: dt.datetime
) -> _Answering:
    """The invitation, locked after its RFQ and proposal, checked: visible, the caller's, pending, in time,
    of the approved proposal of a ``proposed`` RFQ."""
    found = await repo.invitation_by_id(conn, invitation_id=invitation_id)
    if found is None or not rules.may_see_invitation(principal, found):
        raise fail("id", ErrorCode.NOT_FOUND, "No such invitation.")
    if not rules.may_answer_invitation(principal, found):
        raise fail("id", ErrorCode.FORBIDDEN, "Only the invited factory's owner answers its invitation.")
    rfq = await rfqs_repo.rfq_for_update(conn, rfq_id=found.rfq_id)
    proposal = await proposals_repo.proposal_by_id(conn, proposal_id=found.proposal_id, for_update=True)
    invitation = await repo.invitation_by_id(conn, invitation_id=invitation_id, for_update=True)
    assert rfq is not None  # foreign keys
    assert proposal is not None
    assert invitation is not None
    if invitation.status not in ("pending", "expired"):
        raise fail(None, ErrorCode.INVALID_STATE, f"This invitation is {invitation.status} already.")
    if invitation.status == "expired" or now >= invitation.answer_by:  # expired: by the deadline task
        raise fail(
            None,
            ErrorCode.ANSWER_DEADLINE_PASSED,
            f"The answer was due by {invitation.answer_by.astimezone(JST):%Y-%m-%d %H:%M} JST.",
        )
    if rfq.status != RfqStatus.PROPOSED.value or proposal.review_state != "approved":
        raise fail(None, ErrorCode.INVALID_STATE, f"The RFQ is {rfq.status}: this invitation is not open.")
    return _Answering(invitation, proposal)


def _agreed_prices(
    errors: Errors, lines: Sequence[repo.Line], adjustments: Sequence[PriceAdjustment]
) -> dict[UUID, int]:
    """Each line's agreed unit price: the adjustment for an estimated line, else the offered price."""
    by_package = {line.package_id: line for line in lines}
    agreed = {line.package_id: line.unit_price_jpy for line in lines}
    seen: set[UUID] = set()
    for i, adjustment in enumerate(adjustments):
        field = f"unitPrices.{i}"
        line = by_package.get(adjustment.package_id)
        if line is None:
            errors.add(f"{field}.packageId", ErrorCode.NOT_FOUND, "This work package is not in your share.")
        elif adjustment.package_id in seen:
            errors.add(f"{field}.packageId", ErrorCode.INVALID, "This work package is priced twice.")
        elif not line.estimated:
            errors.add(
                f"{field}.packageId",
                ErrorCode.INVALID,
                "This line's price is your firm bid; only estimated prices are confirmed or adjusted.",
            )
        elif not 0 <= adjustment.unit_price_jpy <= MAX_UNIT_PRICE_JPY:
            errors.add(
                f"{field}.unitPriceJpy",
                ErrorCode.OUT_OF_RANGE,
                f"unitPriceJpy must be 0 to {MAX_UNIT_PRICE_JPY}.",
            )
        else:
            agreed[adjustment.package_id] = adjustment.unit_price_jpy
        seen.add(adjustment.package_id)
    return agreed


async def accept_invitation(
    pool: Pool,
    principal: Principal,
    *,
    invitation_id: UUID,
    unit_prices: Sequence[PriceAdjustment] = (),
    now: dt.datetime,
    price_tolerance_pct: float,
) -> repo.Invitation:
    """Accept the share; estimated lines at their estimate unless ``unit_prices`` adjusts them."""
    principal.require_role(Role.FACTORY_OWNER, Role.COORDINATOR)
    assert principal.user_id is not None
    async with transaction(pool) as conn:
        answering = await _to_answer(conn, principal, invitation_id, now)
        invitation = answering.invitation
        lines = await repo.lines_of(conn, invitation_ids=[invitation.id])
        errors = Errors()
        agreed = _agreed_prices(errors, lines, unit_prices)
        if errors:
            raise ValidationFailed(errors)
        accepted = await repo.set_accepted(
            conn, invitation_id=invitation.id, user_id=principal.user_id, now=now, agreed_unit_prices=agreed
        )
        assert accepted.agreed_price_jpy is not None
        await invitation_event(
            conn,
            principal,
            accepted,
            events.EventKind.INVITATION_ACCEPTED,
            {
                "offeredPriceJpy": accepted.offered_price_jpy,
                "agreedPriceJpy": accepted.agreed_price_jpy,
                "adjusted": accepted.agreed_price_jpy != accepted.offered_price_jpy,
            },
        )
        if accepted.agreed_price_jpy != accepted.offered_price_jpy:
            await pricing.check_drift(
                conn,
                principal,
                proposal_id=accepted.proposal_id,
                rfq_id=accepted.rfq_id,
                tolerance_pct=price_tolerance_pct,
            )
        return accepted


async def decline_invitation(
    pool: Pool, principal: Principal, *, invitation_id: UUID, reason: str, now: dt.datetime
) -> repo.Invitation:
    """Decline the share, with the reason; a repair solve is queued in the same transaction."""
    principal.require_role(Role.FACTORY_OWNER, Role.COORDINATOR)
    assert principal.user_id is not None
    errors = Errors()
    reason = clean_text(errors, "reason", reason, max_length=2000)
    async with transaction(pool) as conn:
        answering = await _to_answer(conn, principal, invitation_id, now)
        if errors:
            raise ValidationFailed(errors)
        declined = await repo.set_closed(
            conn,
            invitation_id=answering.invitation.id,
            status="declined",
            now=now,
            user_id=principal.user_id,
            reason=reason,
        )
        await invitation_event(
            conn, principal, declined, events.EventKind.INVITATION_DECLINED, {"reason": reason}
        )
        await repair.queue_repair(
            conn, principal, proposal=answering.proposal, today=now.astimezone(JST).date(), cause=declined
        )
        return declined


__all__ = [
    "PriceAdjustment",
    "accept_invitation",
    "decline_invitation",
    "get_invitation",
    "open_invitations",
]
