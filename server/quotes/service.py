"""Quotes to the buyer and the award that books the members' capacity.

- :func:`issue_quote` — a coordinator, once every member of the approved proposal accepted its share: the
  agreed cost plus margin, converted at the currency's current rate (:mod:`server.quotes.rates`), priced per
  RFQ line (:mod:`server.quotes.money`), delivered on completion + the shipping days of the RFQ's incoterm
  and destination (table ``shipping_days``, migration 0012), valid until a JST day; the buyer sees the
  consortium as roles only (:mod:`server.quotes.consortium`). The RFQ becomes ``quoted``.
- :func:`accept_quote` — the owning buyer, with an idempotency key: books every member's weekly hours in the
  same transaction (:mod:`server.quotes.booking`) and the RFQ becomes ``awarded``. When another award took the
  hours first the award loses: CAPACITY_CONFLICT, and in a transaction of its own the quote is withdrawn and
  the RFQ goes back to ``proposed`` for a repair solve.
- :func:`decline_quote` — the owning buyer, with a reason; the RFQ becomes ``declined``.
- :func:`expire_overdue` — the deadline task: issued quotes past their last valid day expire.
- :func:`on_cancel` — what cancelling an RFQ does to its quote, invitations and bookings.

Buyers never see factory names, ids, per-factory prices or bids: the quote holds none, and its buyer-safe
events carry only the quote's own figures.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from server.auth.principal import Principal, Role
from server.clock import JST
from server.db import Connection, Pool, transaction
from server.errors import ErrorCode, NotFound, ValidationFailed, fail
from server.invitations import repair
from server.invitations import repo as invitations_repo
from server.invitations.invite import invitation_event
from server.proposals import repo as proposals_repo
from server.quotes import booking, consortium, money, repo
from server.rfqs import events, lifecycle
from server.rfqs import repo as rfqs_repo
from server.validation import Errors, clean_currency, clean_text

MAX_VALIDITY_DAYS = 366
MAX_KEY_LENGTH = 200
SYSTEM = Principal(role=Role.ANONYMOUS)
"""Who the deadline task acts as (logged as ``system``)."""


# --- reading -----------------------------------------------------------------------------------------------


def may_see_quote(principal: Principal, rfq: rfqs_repo.Rfq) -> bool:
    """Coordinators, and the RFQ's own buyer; nobody else (factory owners never see quotes)."""
    return principal.is_coordinator or (principal.is_buyer and principal.buyer_id == rfq.buyer_id)


async def get_quote(pool: Pool, principal: Principal, *, quote_id: UUID) -> repo.Quote:
    """One quote: its RFQ's buyer or a coordinator. Any other caller gets NOT_FOUND, as for a missing one."""
    principal.require_role(Role.BUYER, Role.COORDINATOR)
    async with pool.acquire() as conn:
        quote = await repo.quote_by_id(conn, quote_id=quote_id)
        rfqs = await rfqs_repo.rfqs_by_ids(conn, ids=[quote.rfq_id]) if quote else []
    if quote is None or not rfqs or not may_see_quote(principal, rfqs[0]):
        raise NotFound("No such quote.")
    return quote


async def quotes_of_rfq(pool: Pool, principal: Principal, *, rfq_id: UUID) -> list[repo.Quote]:
    """An RFQ's quotes, newest first: its buyer or a coordinator."""
    principal.require_role(Role.BUYER, Role.COORDINATOR)
    async with pool.acquire() as conn:
        rfqs = await rfqs_repo.rfqs_by_ids(conn, ids=[rfq_id])
        if not rfqs or not may_see_quote(principal, rfqs[0]):
            raise NotFound("No such RFQ.")
        return await repo.quotes_by_rfq_ids(conn, rfq_ids=[rfq_id])


async def shipping_table(pool: Pool, principal: Principal) -> list[repo.ShippingDays]:
    """The seeded shipping-days table: any signed-in caller (it is documentation)."""
    principal.require_signed_in()
    async with pool.acquire() as conn:
        return await repo.shipping_table(conn)


# --- issuing -----------------------------------------------------------------------------------------------


async def issue_quote(
    pool: Pool,
    principal: Principal,
    *,
    proposal_id: UUID,
    margin_pct: Decimal | float,
    valid_until: dt.date,
    currency: str | None = None,
    today: dt.date,
    now: dt.datetime,
) -> repo.Quote:
    """Issue the quote of an approved proposal whose every member accepted. Coordinators only.

    ``currency`` defaults to the RFQ's (the buyer's). Typed errors, nothing written: MEMBERS_PENDING before
    every member accepted (or while a price awaits confirmation), OUT_OF_RANGE for a margin outside 0–100 %,
    DATE_IN_PAST / OUT_OF_RANGE for the validity, NO_EXCHANGE_RATE for a currency without a rate,
    INVALID_STATE when the proposal is not the RFQ's approved one or the RFQ is not ``proposed``.
    """
    principal.require_role(Role.COORDINATOR)
    errors = Errors()
    try:
        margin = Decimal(str(margin_pct))
    except InvalidOperation:
        margin = Decimal(-1)
    if not margin.is_finite() or not Decimal(0) <= margin <= Decimal(100):
        errors.add("marginPct", ErrorCode.OUT_OF_RANGE, "marginPct must be between 0 and 100.")
    elif margin != margin.quantize(Decimal("0.01")):
        errors.add("marginPct", ErrorCode.INVALID, "marginPct has at most two decimals.")
    if valid_until < today:
        errors.add("validUntil", ErrorCode.DATE_IN_PAST, "validUntil lies before today (JST).")
    elif valid_until > today + dt.timedelta(days=MAX_VALIDITY_DAYS):
        errors.add(
            "validUntil", ErrorCode.OUT_OF_RANGE, f"A quote is valid for at most {MAX_VALIDITY_DAYS} days."
        )
    wanted = clean_currency(errors, "currency", currency) if currency is not None else None
    async with transaction(pool) as conn:
        proposal = await proposals_repo.proposal_by_id(conn, proposal_id=proposal_id)
        if proposal is None:
            raise NotFound("No such proposal.")
        rfq = await rfqs_repo.rfq_for_update(conn, rfq_id=proposal.rfq_id)
        assert rfq is not None  # a foreign key
        locked = await proposals_repo.proposal_by_id(conn, proposal_id=proposal_id, for_update=True)
        assert locked is not None
        proposal = locked
        if proposal.review_state != "approved":
            raise fail(
                "proposalId", ErrorCode.INVALID_STATE, "Only the RFQ's approved proposal can be quoted."
            )
        if rfq.status != lifecycle.RfqStatus.PROPOSED.value:
            raise fail(
                None, ErrorCode.INVALID_STATE, f"The RFQ is {rfq.status}; only a proposed RFQ is quoted."
            )
        invitations = await repo.invitations_of(conn, proposal_id=proposal.id)
        pending = [i for i in invitations if i.status != "accepted"]
        if not invitations or pending:
            errors.add(
                "proposalId",
                ErrorCode.MEMBERS_PENDING,
                f"{len(pending)} of {len(invitations)} members have not accepted their share."
                if invitations
                else "The members have not been invited yet.",
            )
        elif await repo.price_confirmation_required(conn, proposal_id=proposal.id):
            errors.add(
                "proposalId",
                ErrorCode.MEMBERS_PENDING,
                "An adjusted price moved the total: a coordinator confirms it before the quote.",
            )
        code = wanted or rfq.currency.strip()
        if money.minor_units(code) > money.MAX_QUOTE_EXPONENT and not errors.has("currency"):
            errors.add(
                "currency", ErrorCode.INVALID, f"Quotes in {code} (3 or more decimals) are not supported yet."
            )
        rate = None
        if code != "JPY" and not errors.has("currency"):
            rate = await repo.current_rate(conn, currency=code)
            if rate is None:
                errors.add("currency", ErrorCode.NO_EXCHANGE_RATE, f"No exchange rate is set for {code}.")
        if errors:
            raise ValidationFailed(errors)
        shares = await repo.accepted_shares(conn, proposal_id=proposal.id)
        if not shares:
            raise fail("proposalId", ErrorCode.MEMBERS_PENDING, "The accepted invitations hold no shares.")
        lines = await rfqs_repo.lines_by_rfq_ids(conn, rfq_ids=[rfq.id])
        transport = int((proposal.solution.get("costs") or {}).get("transport", 0))
        priced = money.price_lines(
            money.line_costs(
                [(s.line_id, s.quantity * s.agreed_unit_price_jpy, s.setup_cost_jpy) for s in shares],
                {line.id: line.quantity for line in sorted(lines, key=lambda x: x.position)},
            ),
            transport_jpy=transport,
            margin_pct=margin,
            jpy_per_unit=rate.jpy_per_unit if rate else Decimal(1),
            currency=code,
        )
        completion = max(s.end_date for s in shares)
        shipping = await repo.shipping_days(
            conn, incoterm=rfq.incoterm.strip(), country=rfq.destination_country
        )
        days = shipping.days if shipping else 0
        facts = await repo.member_facts(
            conn, factory_ids=sorted({i.factory_id for i in invitations}), on=completion
        )
        view = consortium.roles(facts, lead=proposal.lead_factory_id, shares=shares)
        quote = await repo.insert_quote(
            conn,
            quote=repo.NewQuote(
                rfq_id=rfq.id,
                proposal_id=proposal.id,
                currency=code,
                cost_jpy=priced.cost_jpy,
                margin_pct=margin,
                exchange_rate_id=rate.id if rate else None,
                jpy_per_unit=rate.jpy_per_unit if rate else Decimal(1),
                total_amount=priced.total_amount,
                completion_date=completion,
                shipping_days=days,
                delivery_date=completion + dt.timedelta(days=days),
                valid_until=valid_until,
                consortium=view,
                issued_by_user_id=principal.user_id,
                issued_at=now,
            ),
            lines=[(p.line_id, p.quantity, p.unit_price) for p in priced.lines],
        )
        await lifecycle.transition(
            conn, principal, rfq=rfq, to=lifecycle.RfqStatus.QUOTED, reason=f"quote {quote.id}"
        )
        await events.record(
            conn,
            principal,
            rfq_id=rfq.id,
            kind=events.EventKind.QUOTE_ISSUED,
            payload={
                "quote": str(quote.id),
                "currency": code,
                "totalAmount": str(quote.total_amount),
                "rate": str(quote.jpy_per_unit),
                "validUntil": valid_until.isoformat(),
                "deliveryDate": quote.delivery_date.isoformat(),
            },
        )
        return quote


# --- the buyer's answer ------------------------------------------------------------------------------------


async def _buyers_quote(
    conn: Connection, principal: Principal, quote_id: UUID
) -> tuple[repo.Quote, rfqs_repo.Rfq]:
    """The quote and its RFQ, both locked (the RFQ first, as every other writer of the RFQ does); another
    buyer's quote is the payload error NOT_FOUND, exactly like a missing one."""
    quote = await repo.quote_by_id(conn, quote_id=quote_id)
    rfq = await rfqs_repo.rfq_for_update(conn, rfq_id=quote.rfq_id) if quote else None
    if quote is None or rfq is None or not (principal.is_buyer and principal.buyer_id == rfq.buyer_id):
        # A payload error (the issue asks for typed errors here), worded like a missing quote.
        raise fail("id", ErrorCode.NOT_FOUND, "No such quote.")
    locked = await repo.quote_by_id(conn, quote_id=quote_id, for_update=True)
    assert locked is not None
    return locked, rfq


def _check_open(quote: repo.Quote, today: dt.date) -> None:
    if quote.status == "issued" and quote.valid_until < today:
        raise fail(
            None, ErrorCode.QUOTE_EXPIRED, f"The quote was valid until {quote.valid_until.isoformat()} (JST)."
        )
    if quote.status == "expired":
        raise fail(None, ErrorCode.QUOTE_EXPIRED, "The quote has expired.")
    if quote.status != "issued":
        raise fail(None, ErrorCode.INVALID_STATE, f"The quote is {quote.status}.")


def _clean_key(errors: Errors, key: str) -> str:
    key = clean_text(errors, "idempotencyKey", key, max_length=MAX_KEY_LENGTH)
    return key


def _conflict_error(conflicts: list[dict[str, Any]] | None = None) -> ValidationFailed:
    weeks = sorted({c["week"] for c in conflicts or []})
    detail = f" (weeks {', '.join(weeks)})" if weeks else ""
    return fail(
        None,
        ErrorCode.CAPACITY_CONFLICT,
        "Another award took member capacity that this one needs" + detail + ": the quote is withdrawn and "
        "the cluster office repairs the consortium.",
    )


async def accept_quote(
    pool: Pool,
    principal: Principal,
    *,
    quote_id: UUID,
    idempotency_key: str,
    today: dt.date,
    now: dt.datetime,
) -> repo.Quote:
    """Accept the quote: the RFQ's buyer. Books the members' weekly hours and awards the RFQ, in one
    transaction. The same key again returns the first result (the accepted quote, or the same
    CAPACITY_CONFLICT). QUOTE_EXPIRED / INVALID_STATE for a quote that is no longer open; another buyer's
    quote is NOT_FOUND."""
    principal.require_role(Role.BUYER)
    errors = Errors()
    key = _clean_key(errors, idempotency_key)
    if errors:
        raise ValidationFailed(errors)
    async with transaction(pool) as conn:
        quote, rfq = await _buyers_quote(conn, principal, quote_id)
        if quote.accept_idempotency_key == key and quote.status == "accepted":
            return quote
        if quote.accept_idempotency_key == key and quote.status == "withdrawn":
            raise _conflict_error()
        _check_open(quote, today)
        result = await booking.book_award(conn, quote=quote, at=now)
        if not result.conflicts:
            accepted = await repo.answer_quote(
                conn, quote_id=quote.id, status="accepted", at=now, idempotency_key=key
            )
            await lifecycle.transition(
                conn, principal, rfq=rfq, to=lifecycle.RfqStatus.AWARDED, reason=f"quote {quote.id}"
            )
            await events.record(
                conn,
                principal,
                rfq_id=rfq.id,
                kind=events.EventKind.QUOTE_ACCEPTED,
                payload={"quote": str(quote.id)},
            )
            await events.record(
                conn,
                principal,
                rfq_id=rfq.id,
                kind=events.EventKind.CAPACITY_BOOKED,
                payload={"quote": str(quote.id), "bookings": result.bookings_json()},
            )
            return accepted
    # The award lost: nothing was booked. The quote is withdrawn and the RFQ goes back to proposed, committed
    # in a transaction of its own (the conflict is the answer, not a failure to roll back).
    await _lose_award(pool, principal, quote_id=quote_id, key=key, conflicts=result.conflicts_json(), now=now)
    raise _conflict_error(result.conflicts_json())


async def _lose_award(
    pool: Pool,
    principal: Principal,
    *,
    quote_id: UUID,
    key: str,
    conflicts: list[dict[str, Any]],
    now: dt.datetime,
) -> None:
    async with transaction(pool) as conn:
        quote, rfq = await _buyers_quote(conn, principal, quote_id)
        if quote.status != "issued" or rfq.status != lifecycle.RfqStatus.QUOTED.value:
            return  # cancelled or answered meanwhile: nothing to undo
        await repo.answer_quote(conn, quote_id=quote.id, status="withdrawn", at=now, idempotency_key=key)
        await events.record(
            conn,
            principal,
            rfq_id=rfq.id,
            kind=events.EventKind.QUOTE_WITHDRAWN,
            payload={"quote": str(quote.id), "reason": "capacity conflict"},
        )
        await events.record(
            conn,
            principal,
            rfq_id=rfq.id,
            kind=events.EventKind.CAPACITY_CONFLICT,
            payload={"quote": str(quote.id), "conflicts": conflicts},
        )
        await lifecycle.transition(
            conn,
            principal,
            rfq=rfq,
            to=lifecycle.RfqStatus.PROPOSED,
            reason="capacity conflict: repair needed",
        )
        await _queue_conflict_repair(conn, principal, rfq_id=rfq.id, conflicts=conflicts, now=now)


async def _queue_conflict_repair(
    conn: Connection, principal: Principal, *, rfq_id: UUID, conflicts: list[dict[str, Any]], now: dt.datetime
) -> None:
    """The repair a lost award needs: the members whose hours another award took have their accepted shares
    withdrawn (not fixed, not excluded: the repair re-plans them against the capacity that is left); every
    other accepted share stays fixed. The coordinator then approves the repair and the changed shares are
    invited again, as after a decline."""
    proposal = await proposals_repo.approved_proposal_of(conn, rfq_id=rfq_id)
    if proposal is None:
        return
    short = {c["factory"] for c in conflicts}
    released = []
    for invitation in await invitations_repo.invitations_of_proposals(conn, proposal_ids=[proposal.id]):
        if invitation.status == "accepted" and str(invitation.factory_id) in short:
            withdrawn = await invitations_repo.release_accepted(
                conn, invitation_id=invitation.id, now=now, reason="capacity conflict"
            )
            await invitation_event(
                conn,
                principal,
                withdrawn,
                events.EventKind.INVITATION_WITHDRAWN,
                {"reason": "capacity conflict: another award took these hours"},
            )
            released.append(withdrawn)
    if released:
        await repair.queue_repair(
            conn, principal, proposal=proposal, today=now.astimezone(JST).date(), cause=released[0]
        )


async def decline_quote(
    pool: Pool, principal: Principal, *, quote_id: UUID, reason: str, today: dt.date, now: dt.datetime
) -> repo.Quote:
    """Decline the quote, with a reason: the RFQ's buyer. The RFQ becomes ``declined`` (final)."""
    principal.require_role(Role.BUYER)
    errors = Errors()
    reason = clean_text(errors, "reason", reason, max_length=2000)
    if errors:
        raise ValidationFailed(errors)
    async with transaction(pool) as conn:
        quote, rfq = await _buyers_quote(conn, principal, quote_id)
        _check_open(quote, today)
        declined = await repo.answer_quote(
            conn, quote_id=quote.id, status="declined", at=now, decline_reason=reason
        )
        await lifecycle.transition(conn, principal, rfq=rfq, to=lifecycle.RfqStatus.DECLINED, reason=reason)
        await events.record(
            conn,
            principal,
            rfq_id=rfq.id,
            kind=events.EventKind.QUOTE_DECLINED,
            payload={"quote": str(quote.id), "reason": reason},
        )
        return declined


# --- the deadline task -------------------------------------------------------------------------------------


async def expire_overdue(conn: Connection, *, today: dt.date) -> int:
    """Expire every issued quote whose last valid day (JST) is before ``today``; its RFQ becomes ``expired``.

    Returns how many were expired. Idempotent (an expired quote is not issued any more) and safe with several
    workers and with buyers answering: each quote's RFQ is locked first, then the quote, in the order every
    other writer of the RFQ takes them (:func:`_buyers_quote`), and the quote is checked again once locked,
    so a quote another worker expired (or a buyer answered) meanwhile is skipped. Runs in the caller's
    transaction when it has one, else in its own.
    """
    async with conn.transaction():
        count = 0
        for overdue in await repo.overdue_quotes(conn, today=today):
            rfq = await rfqs_repo.rfq_for_update(conn, rfq_id=overdue.rfq_id)
            assert rfq is not None
            quote = await repo.quote_by_id(conn, quote_id=overdue.id, for_update=True)
            assert quote is not None
            if quote.status != "issued" or quote.valid_until >= today:
                continue
            await repo.answer_quote(
                conn, quote_id=quote.id, status="expired", at=None
            )  # the database's now()
            if rfq.status == lifecycle.RfqStatus.QUOTED.value:
                await lifecycle.transition(
                    conn, SYSTEM, rfq=rfq, to=lifecycle.RfqStatus.EXPIRED, reason=f"quote {quote.id} expired"
                )
            await events.record(
                conn,
                SYSTEM,
                rfq_id=rfq.id,
                kind=events.EventKind.QUOTE_EXPIRED,
                payload={"quote": str(quote.id), "validUntil": quote.valid_until.isoformat()},
            )
            count += 1
        return count


# --- cancelling the RFQ ------------------------------------------------------------------------------------


async def on_cancel(
    conn: Connection, principal: Principal, *, rfq: rfqs_repo.Rfq, reason: str, now: dt.datetime
) -> None:
    """What cancelling ``rfq`` (locked by the caller) does before it becomes ``cancelled``:

    - an **awarded** RFQ: only a coordinator, with a reason (FORBIDDEN / REQUIRED payload errors); its
      bookings are released;
    - an **issued** quote is withdrawn;
    - **pending** invitations are withdrawn.
    """
    if rfq.status == lifecycle.RfqStatus.AWARDED.value:
        if not principal.is_coordinator:
            raise fail(None, ErrorCode.FORBIDDEN, "Only the cluster office can cancel an awarded RFQ.")
        if not reason:
            raise fail("reason", ErrorCode.REQUIRED, "Say why the awarded RFQ is cancelled.")
        count, hours = await repo.release_bookings(conn, rfq_id=rfq.id, at=now)
        await events.record(
            conn,
            principal,
            rfq_id=rfq.id,
            kind=events.EventKind.CAPACITY_RELEASED,
            payload={"bookings": count, "hours": str(hours), "reason": reason},
        )
    quote = await repo.live_quote_of_rfq(conn, rfq_id=rfq.id)
    if quote is not None and quote.status == "issued":
        await repo.answer_quote(conn, quote_id=quote.id, status="withdrawn", at=now)
        await events.record(
            conn,
            principal,
            rfq_id=rfq.id,
            kind=events.EventKind.QUOTE_WITHDRAWN,
            payload={"quote": str(quote.id), "reason": "RFQ cancelled"},
        )
    withdrawn = await repo.withdraw_pending_invitations(conn, rfq_id=rfq.id, at=now)
    # one event per invitation too, naming it: its factory's owner reads it in the invitation's events
    for invitation in await invitations_repo.invitations_by_ids(conn, ids=withdrawn):
        await invitation_event(
            conn, principal, invitation, events.EventKind.INVITATION_WITHDRAWN, {"reason": "RFQ cancelled"}
        )
    if withdrawn:
        await events.record(
            conn,
            principal,
            rfq_id=rfq.id,
            kind=events.EventKind.INVITATIONS_WITHDRAWN,
            payload={"invitations": sorted(str(i) for i in withdrawn)},
        )


__all__ = [
    "accept_quote",
    "decline_quote",
    "expire_overdue",
    "get_quote",
    "issue_quote",
    "may_see_quote",
    "on_cancel",
    "quotes_of_rfq",
    "shipping_table",
]
