"""The award's capacity booking: every accepted share's weekly hours against its member's capacity.

Called by :func:`server.quotes.service.accept_quote` inside its transaction:

1. the needs: the approved proposal's accepted invitation lines, summed per factory × the package's process ×
   ISO week (``invitation_lines.weekly_hours``), rounded half up to the hundredth of an hour
   (``capacity_bookings.hours`` has two decimals);
2. the transaction-scoped advisory lock of every factory × process involved, **in ascending key order, in one
   statement** (:func:`server.quotes.repo.lock_capacity`): two awards that share a factory × process run one
   after the other, and the fixed order means two awards cannot deadlock;
3. under those locks, free = capacity (the week's override, or the capability's hours per week) − live
   bookings, read fresh (READ COMMITTED: every statement sees what committed before it); a need above the
   free hours (beyond a hundredth of an hour of rounding) is a conflict;
4. no conflict: every booking in one ``INSERT … SELECT unnest(…)``.

So of two awards that together would overbook one factory × process × week, the second to take the lock
sees the first one's bookings and loses: exactly one wins.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID

from server.clock import iso_week_label
from server.db import Connection
from server.quotes import repo

HUNDREDTH = Decimal("0.01")
TOLERANCE = HUNDREDTH
"""Rounding slack: hours are stored with two decimals; a need may exceed the free hours by this much."""

Cell = tuple[UUID, str, dt.date]  # factory, process, ISO Monday


def week_start(label: str) -> dt.date:
    """``2026-W49`` → the Monday of that ISO week."""
    year, week = label.split("-W")
    return dt.date.fromisocalendar(int(year), int(week), 1)


def needs_of(shares: Sequence[repo.Share]) -> dict[Cell, Decimal]:
    """Hours per factory × process × week, summed over the shares, rounded half up to 0.01 h; empty weeks
    left out."""
    total: dict[Cell, Decimal] = defaultdict(Decimal)
    for share in shares:
        for week in share.weekly_hours:
            total[share.factory_id, share.process_code, week_start(str(week["week"]))] += Decimal(
                str(week["hours"])
            )
    rounded = {cell: hours.quantize(HUNDREDTH, rounding=ROUND_HALF_UP) for cell, hours in total.items()}
    return {cell: hours for cell, hours in sorted(rounded.items()) if hours > 0}


@dataclass(frozen=True)
class Conflict:
    factory_id: UUID
    process_code: str
    week_start: dt.date
    needed: Decimal
    free: Decimal


@dataclass(frozen=True)
class BookingResult:
    booked: dict[Cell, Decimal] = field(default_factory=dict)
    conflicts: tuple[Conflict, ...] = ()

    def bookings_json(self) -> list[dict[str, Any]]:
        return [
            {"factory": str(f), "process": p, "week": iso_week_label(w), "hours": str(h)}
            for (f, p, w), h in self.booked.items()
        ]

    def conflicts_json(self) -> list[dict[str, Any]]:
        return [
            {
                "factory": str(c.factory_id),
                "process": c.process_code,
                "week": iso_week_label(c.week_start),
                "needed": str(c.needed),
                "free": str(c.free),
            }
            for c in self.conflicts
        ]


def conflicts_of(needs: dict[Cell, Decimal], capacities: Sequence[repo.WeekCapacity]) -> tuple[Conflict, ...]:
    free = {(c.factory_id, c.process_code, c.week_start): c.capacity - c.booked for c in capacities}
    return tuple(
        Conflict(f, p, w, hours, max(free.get((f, p, w), Decimal(0)), Decimal(0)))
        for (f, p, w), hours in needs.items()
        if hours > free.get((f, p, w), Decimal(0)) + TOLERANCE
    )


async def book_award(conn: Connection, *, quote: repo.Quote, at: dt.datetime | None = None) -> BookingResult:
    """Book ``quote``'s members' hours, or report every week that no longer has room (nothing booked)."""
    shares = await repo.accepted_shares(conn, proposal_id=quote.proposal_id)
    needs = needs_of(shares)
    await repo.lock_capacity(conn, keys=sorted({(f, p) for f, p, _ in needs}))
    capacities = await repo.week_capacities(conn, cells=list(needs))
    conflicts = conflicts_of(needs, capacities)
    if conflicts:
        return BookingResult(conflicts=conflicts)
    await repo.insert_bookings(
        conn,
        quote_id=quote.id,
        rfq_id=quote.rfq_id,
        bookings=[(f, p, w, h) for (f, p, w), h in needs.items()],
        at=at,
    )
    return BookingResult(booked=needs)


__all__ = ["BookingResult", "Conflict", "book_award", "conflicts_of", "needs_of", "week_start"]
