"""The RFQ event log: who did what to an RFQ, when, with which data. Append-only (a trigger refuses updates).

:func:`record` is called inside the transaction of the change it describes, so a change and its event are
written together or not at all. Each :class:`EventKind` says whether buyers may read it: buyer-safe events
never carry bids, factory ids or factory names in their payload. Who reads what is
:func:`server.rfqs.rules.visible_events`.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from server.auth.principal import Principal, Role
from server.db import Connection


class EventKind(enum.Enum):
    """What happened. Each member: (value stored in ``rfq_events.kind``, description, buyer-safe)."""

    description: str
    buyer_visible: bool

    # Defaults only so that ``EventKind("rfq.submitted")`` (a lookup by value) type-checks.
    def __new__(cls, value: str, description: str = "", buyer_visible: bool = False) -> EventKind:
        member = object.__new__(cls)
        member._value_ = value
        member.description = description
        member.buyer_visible = buyer_visible
        return member

    SUBMITTED = ("rfq.submitted", "The buyer submitted the RFQ.", True)
    STATUS_CHANGED = ("rfq.status_changed", "The RFQ moved to another state (`from`, `to`, `reason`).", True)
    BID_SUBMITTED = ("bid.submitted", "A factory placed a bid on a work package.", False)
    BID_REPLACED = ("bid.replaced", "A factory replaced its bid on a work package.", False)
    BID_WITHDRAWN = ("bid.withdrawn", "A factory withdrew its bid on a work package.", False)
    PROPOSAL_APPROVED = ("proposal.approved", "A coordinator approved a consortium proposal.", False)
    PROPOSAL_REJECTED = ("proposal.rejected", "A coordinator rejected a consortium proposal.", False)
    PROPOSAL_REVISED = ("proposal.revised", "A coordinator asked for a revision of a proposal.", False)
    # --- issue 8, award-quotes: quotes, the award and its capacity bookings ---
    QUOTE_ISSUED = (
        "quote.issued",
        "A coordinator issued a quote (`quote`, `currency`, `totalAmount`, `rate`, `validUntil`).",
        True,
    )
    QUOTE_ACCEPTED = ("quote.accepted", "The buyer accepted the quote (`quote`).", True)
    QUOTE_DECLINED = ("quote.declined", "The buyer declined the quote (`quote`, `reason`).", True)
    QUOTE_EXPIRED = (
        "quote.expired",
        "The quote passed its validity unanswered (`quote`, `validUntil`).",
        True,
    )
    QUOTE_WITHDRAWN = (
        "quote.withdrawn",
        "The quote was withdrawn: the RFQ was cancelled, or the award lost a capacity conflict (`quote`).",
        True,
    )
    CAPACITY_BOOKED = (
        "capacity.booked",
        "The award booked the members' weekly hours (`quote`, `bookings` per factory, process and week).",
        False,
    )
    CAPACITY_CONFLICT = (
        "capacity.conflict",
        "The award would overbook members' weeks (`quote`, `conflicts`: factory, process, week, hours).",
        False,
    )
    CAPACITY_RELEASED = (
        "capacity.released",
        "Cancelling the awarded RFQ released its bookings (`bookings`, `hours`).",
        False,
    )
    INVITATIONS_WITHDRAWN = (
        "invitations.withdrawn",
        "Cancelling the RFQ withdrew its pending invitations (`invitations`).",
        False,
    )
    # --- issue 8, award-invitations: member invitations, repair, price confirmation ---
    INVITATION_SENT = (
        "invitation.sent",
        "A member factory was invited to its share of the approved proposal.",
        False,
    )
    INVITATION_CARRIED = (
        "invitation.carried",
        "A repaired proposal kept a member's unchanged, accepted share: it stays accepted.",
        False,
    )
    INVITATION_ACCEPTED = ("invitation.accepted", "A member accepted its invitation (and its prices).", False)
    INVITATION_DECLINED = ("invitation.declined", "A member declined its invitation, with a reason.", False)
    INVITATION_EXPIRED = (
        "invitation.expired",
        "An invitation passed its answer deadline unanswered: it counts as declined.",
        False,
    )
    INVITATION_WITHDRAWN = (
        "invitation.withdrawn",
        "A pending invitation was withdrawn: a repaired proposal replaced the one it belonged to.",
        False,
    )
    PROPOSAL_REPAIR_QUEUED = (
        "proposal.repair_queued",
        "A decline or an overdue invitation queued a repair solve (accepted shares fixed, decliners out).",
        False,
    )
    PROPOSAL_REPAIR_IMPOSSIBLE = (
        "proposal.repair_impossible",
        "A decline needs a repair, but no repair Problem could be made; a coordinator revises by hand.",
        False,
    )
    PROPOSAL_PRICE_CONFIRMATION_REQUIRED = (
        "proposal.price_confirmation_required",
        "Accepted prices moved the proposal's total beyond the tolerance: a coordinator must confirm it.",
        False,
    )
    PROPOSAL_PRICES_CONFIRMED = (
        "proposal.prices_confirmed",
        "A coordinator confirmed the proposal's total after members adjusted estimated prices.",
        False,
    )


@dataclass(frozen=True)
class RfqEvent:
    id: int
    rfq_id: UUID
    at: dt.datetime
    kind: str
    actor_role: str
    actor_user_id: UUID | None
    actor_buyer_id: UUID | None
    buyer_visible: bool
    payload: dict[str, Any]


COLUMNS = ("kind", "actor_role", "actor_user_id", "actor_buyer_id", "buyer_visible", "payload")
"""The columns of ``rfq_events`` besides ``rfq_id`` that :func:`values` fills."""


def values(principal: Principal, kind: EventKind, payload: dict[str, Any] | None = None) -> tuple[Any, ...]:
    """The values of :data:`COLUMNS` for an event done by ``principal`` (a system principal is
    ``Role.ANONYMOUS`` → ``system``), for a write that inserts its event in its own statement."""
    role = "system" if principal.role is Role.ANONYMOUS else principal.role.value
    return (kind.value, role, principal.user_id, principal.buyer_id, kind.buyer_visible, payload or {})


async def record(
    conn: Connection,
    principal: Principal,
    *,
    rfq_id: UUID,
    kind: EventKind,
    payload: dict[str, Any] | None = None,
) -> None:
    """Append one event, done by ``principal``."""
    await conn.execute(
        f"INSERT INTO rfq_events (rfq_id, {', '.join(COLUMNS)}) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        rfq_id,
        *values(principal, kind, payload),
    )


__all__ = ["COLUMNS", "EventKind", "RfqEvent", "record", "values"]
