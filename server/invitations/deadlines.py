"""The deadline task: run by pgqueuer's scheduler in every solve worker (:mod:`server.jobs.worker`), once a
minute among all workers, and by ``machikoba deadlines`` by hand.

Three duties, each idempotent (a second run finds nothing to do) and safe with several workers (each RFQ is
taken with ``FOR UPDATE SKIP LOCKED`` and judged again under its lock, so two runs never act on one RFQ
twice):

1. **close bidding**: an ``open`` RFQ whose bid deadline day (JST) is over becomes ``bidding_closed``;
2. **expire quotes**: :func:`server.quotes.service.expire_overdue` when the quotes domain provides it, else
   the same in SQL here (an ``issued`` quote past its ``valid_until`` day becomes ``expired``, its RFQ too);
3. **overdue invitations are declines**: a ``pending`` invitation past its ``answer_by`` becomes
   ``expired``, and its proposal gets a repair solve (accepted shares fixed, every decliner excluded) —
   one per proposal per run, however many of its invitations expired together.

All of it runs as the system (``actor: SYSTEM`` in the events).
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import cast
from uuid import UUID

from server.auth.principal import Principal, Role
from server.clock import JST
from server.db import Connection, Pool, transaction
from server.invitations import repair, repo
from server.invitations.invite import invitation_event
from server.proposals import repo as proposals_repo
from server.rfqs import events, lifecycle
from server.rfqs import repo as rfqs_repo

log = logging.getLogger("machikoba.deadlines")

SYSTEM = Principal(role=Role.ANONYMOUS)
"""Who acts in the deadline task's events (``system``)."""

DEADLINES_CRON = "* * * * *"
"""When the worker's scheduler runs :func:`run_deadlines`: every minute (deadlines are whole JST days or
exact instants; a minute late is on time for both)."""

BATCH = 200
"""RFQs handled per duty and run; the rest wait for the next minute."""


@dataclass(frozen=True)
class DeadlineReport:
    bidding_closed: int
    quotes_expired: int
    invitations_expired: int
    repairs_queued: int


async def _locked_rfq(conn: Connection, rfq_id: UUID) -> rfqs_repo.Rfq | None:
    """The RFQ locked for this transaction, or None when another worker holds it (it does the work)."""
    locked = await conn.fetchval("SELECT id FROM rfqs WHERE id = $1 FOR UPDATE SKIP LOCKED", rfq_id)
    if locked is None:
        return None
    return next(iter(await rfqs_repo.rfqs_by_ids(conn, ids=[rfq_id])), None)


async def close_bidding(pool: Pool, *, today: dt.date) -> int:
    """``open`` RFQs whose bid deadline lies before ``today`` (JST) become ``bidding_closed``."""
    async with pool.acquire() as conn:
        due: list[UUID] = [
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM rfqs WHERE status = 'open' AND bid_deadline < $1 "
                "ORDER BY bid_deadline LIMIT $2",
                today,
                BATCH,
            )
        ]
    closed = 0
    for rfq_id in due:
        async with transaction(pool) as conn:
            rfq = await _locked_rfq(conn, rfq_id)
            if rfq is None or rfq.status != "open" or rfq.bid_deadline >= today:
                continue
            await lifecycle.transition(
                conn,
                SYSTEM,
                rfq=rfq,
                to=lifecycle.RfqStatus.BIDDING_CLOSED,
                reason=f"the bid deadline {rfq.bid_deadline.isoformat()} (JST) passed",
            )
            closed += 1
    return closed


ExpireOverdue = Callable[..., Awaitable[int]]


def _quotes_expire_overdue() -> ExpireOverdue | None:
    """``server.quotes.service.expire_overdue(conn, *, today) -> int`` when the quotes domain has it."""
    try:
        module = importlib.import_module("server.quotes.service")
    except ModuleNotFoundError:
        return None
    found = getattr(module, "expire_overdue", None)
    return cast(ExpireOverdue, found) if callable(found) else None


async def expire_quotes(pool: Pool, *, today: dt.date) -> int:
    """Issued quotes whose last valid day lies before ``today`` (JST) expire, with their RFQs."""
    provided = _quotes_expire_overdue()
    if provided is not None:
        async with transaction(pool) as conn:
            return await provided(conn, today=today)
    expired = 0
    async with pool.acquire() as conn:
        due = await conn.fetch(
            "SELECT id, rfq_id FROM quotes WHERE status = 'issued' AND valid_until < $1 "
            "ORDER BY valid_until LIMIT $2",
            today,
            BATCH,
        )
    for quote in due:
        async with transaction(pool) as conn:
            rfq = await _locked_rfq(conn, quote["rfq_id"])
            if rfq is None:
                continue
            changed = await conn.fetchval(
                """
                UPDATE quotes SET status = 'expired', answered_at = now()
                WHERE id = $1 AND status = 'issued' AND valid_until < $2
                RETURNING id
                """,
                quote["id"],
                today,
            )
            if changed is None:
                continue
            if rfq.status == lifecycle.RfqStatus.QUOTED.value:
                await lifecycle.transition(
                    conn,
                    SYSTEM,
                    rfq=rfq,
                    to=lifecycle.RfqStatus.EXPIRED,
                    reason=f"quote {quote['id']} passed its validity",
                )
            expired += 1
    return expired


async def expire_overdue_invitations(pool: Pool, *, now: dt.datetime) -> tuple[int, int]:
    """Pending invitations past their deadline expire (a decline); returns (expired, repairs queued)."""
    async with pool.acquire() as conn:
        rfq_ids: list[UUID] = [
            r["rfq_id"]
            for r in await conn.fetch(
                """
                SELECT rfq_id FROM invitations WHERE status = 'pending' AND answer_by < $1
                GROUP BY rfq_id ORDER BY min(answer_by) LIMIT $2
                """,
                now,
                BATCH,
            )
        ]
    expired = repairs = 0
    for rfq_id in rfq_ids:
        async with transaction(pool) as conn:
            rfq = await _locked_rfq(conn, rfq_id)
            if rfq is None:
                continue
            overdue = await repo.overdue_invitations(conn, rfq_id=rfq_id, now=now)
            proposals: dict[UUID, repo.Invitation] = {}
            for invitation in overdue:
                closed = await repo.set_closed(conn, invitation_id=invitation.id, status="expired", now=now)
                await invitation_event(
                    conn,
                    SYSTEM,
                    closed,
                    events.EventKind.INVITATION_EXPIRED,
                    {"answerBy": invitation.answer_by.isoformat()},
                )
                proposals.setdefault(invitation.proposal_id, closed)
                expired += 1
            if rfq.status != lifecycle.RfqStatus.PROPOSED.value:
                continue  # nothing to repair: the RFQ moved on (cancelled, …)
            for proposal_id, cause in proposals.items():
                proposal = await proposals_repo.proposal_by_id(conn, proposal_id=proposal_id, for_update=True)
                if proposal is None or proposal.review_state != "approved":
                    continue
                job = await repair.queue_repair(
                    conn, SYSTEM, proposal=proposal, today=now.astimezone(JST).date(), cause=cause
                )
                repairs += job is not None
    return expired, repairs


async def run_deadlines(pool: Pool, *, now: dt.datetime) -> DeadlineReport:
    """All three duties, as of ``now``."""
    today = now.astimezone(JST).date()
    closed = await close_bidding(pool, today=today)
    quotes = await expire_quotes(pool, today=today)
    expired, repairs = await expire_overdue_invitations(pool, now=now)
    report = DeadlineReport(closed, quotes, expired, repairs)
    if closed or quotes or expired:
        log.info(
            "deadlines: %d RFQ(s) closed for bidding, %d quote(s) expired, %d invitation(s) expired "
            "(%d repair(s) queued)",
            closed,
            quotes,
            expired,
            repairs,
        )
    return report


__all__ = [
    "DEADLINES_CRON",
    "SYSTEM",
    "DeadlineReport",
    "close_bidding",
    "expire_overdue_invitations",
    "expire_quotes",
    "run_deadlines",
]
