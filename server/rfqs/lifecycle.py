"""The RFQ life cycle: its states and the legal transitions, in one place.

The database holds the same table (``rfq_states``, ``rfq_transitions``, migration 0006) and a trigger that
refuses any other change of ``rfqs.status``, so an illegal transition cannot be written by any code path;
``tests/bids/test_lifecycle.py`` checks that this module and the database agree. Adding a state is one new
member of :class:`RfqStatus` with its transitions in :data:`TRANSITIONS`, plus a migration inserting the
same rows.

Every transition goes through :func:`transition`, which appends an ``rfq.status_changed`` event in the same
transaction (:mod:`server.rfqs.events`). See ``docs/lifecycle.md``.
"""

from __future__ import annotations

import enum

from server.auth.principal import Principal
from server.db import Connection
from server.errors import ErrorCode, fail
from server.rfqs import events, repo


class RfqStatus(enum.Enum):
    """Where an RFQ stands; the value is what ``rfqs.status`` stores. Each member: (value, description)."""

    description: str

    # ``description`` has a default only so that ``RfqStatus("open")`` (a lookup by value) type-checks.
    def __new__(cls, value: str, description: str = "") -> RfqStatus:
        member = object.__new__(cls)
        member._value_ = value
        member.description = description
        return member

    OPEN = ("open", "Accepting bids; factories that could do it see it.")
    BIDDING_CLOSED = (
        "bidding_closed",
        "The bid deadline passed; the cluster office is forming the consortium.",
    )
    PROPOSED = (
        "proposed",
        "A coordinator approved a consortium proposal; its member factories are answering their invitations.",
    )
    QUOTED = ("quoted", "A quote was sent to the buyer, who may accept or decline it until it expires.")
    AWARDED = ("awarded", "The buyer accepted the quote; the members' capacity is booked.")
    DECLINED = ("declined", "The buyer declined the quote.")
    EXPIRED = ("expired", "The quote passed its validity without an answer.")
    CANCELLED = ("cancelled", "Withdrawn by the buyer or the cluster office.")
    CLOSED = ("closed", "Finished without (further) bidding.")


INITIAL = RfqStatus.OPEN
"""The state every RFQ is submitted in."""

TRANSITIONS: dict[tuple[RfqStatus, RfqStatus], str] = {
    (RfqStatus.OPEN, RfqStatus.BIDDING_CLOSED): "the deadline task, at the end of the bid-deadline day (JST)",
    (RfqStatus.OPEN, RfqStatus.PROPOSED): "a coordinator approves a proposal",
    (RfqStatus.OPEN, RfqStatus.CANCELLED): "the buyer or a coordinator cancels it",
    (RfqStatus.OPEN, RfqStatus.CLOSED): "a coordinator closes it",
    (RfqStatus.BIDDING_CLOSED, RfqStatus.PROPOSED): "a coordinator approves a proposal",
    (RfqStatus.BIDDING_CLOSED, RfqStatus.CANCELLED): "the buyer or a coordinator cancels it",
    (RfqStatus.BIDDING_CLOSED, RfqStatus.CLOSED): "a coordinator closes it",
    (RfqStatus.PROPOSED, RfqStatus.QUOTED): "a coordinator issues a quote once every member accepted",
    (RfqStatus.PROPOSED, RfqStatus.CANCELLED): "the buyer or a coordinator cancels it",
    (RfqStatus.PROPOSED, RfqStatus.CLOSED): "a coordinator closes it",
    (RfqStatus.QUOTED, RfqStatus.AWARDED): "the buyer accepts the quote; the members' capacity is booked",
    (RfqStatus.QUOTED, RfqStatus.DECLINED): "the buyer declines the quote",
    (RfqStatus.QUOTED, RfqStatus.EXPIRED): "the deadline task, after the quote's last valid day (JST)",
    (RfqStatus.QUOTED, RfqStatus.PROPOSED): "the award would overbook a member (CAPACITY_CONFLICT): repair",
    (RfqStatus.QUOTED, RfqStatus.CANCELLED): "the buyer or a coordinator cancels it",
    (RfqStatus.AWARDED, RfqStatus.CANCELLED): "a coordinator, with a reason (its bookings are released)",
}
"""Every legal transition, with who triggers it (``docs/lifecycle.md`` shows the same)."""


def may_transition(current: RfqStatus, target: RfqStatus) -> bool:
    return (current, target) in TRANSITIONS


async def transition(
    conn: Connection,
    principal: Principal,
    *,
    rfq: repo.Rfq,
    to: RfqStatus,
    reason: str | None = None,
) -> repo.Rfq:
    """Move ``rfq`` (locked by the caller, ``repo.rfq_for_update``) to ``to`` and log the event.

    INVALID_STATE (a payload error) when the life cycle has no such transition; the database trigger would
    refuse it anyway.
    """
    current = RfqStatus(rfq.status)
    if not may_transition(current, to):
        raise fail(
            None,
            ErrorCode.INVALID_STATE,
            f"An RFQ that is {current.value} cannot become {to.value}.",
        )
    changed = await repo.set_status(conn, rfq_id=rfq.id, status=to.value)
    payload: dict[str, object] = {"from": current.value, "to": to.value}
    if reason:
        payload["reason"] = reason
    await events.record(conn, principal, rfq_id=rfq.id, kind=events.EventKind.STATUS_CHANGED, payload=payload)
    return changed


__all__ = ["INITIAL", "TRANSITIONS", "RfqStatus", "may_transition", "transition"]
