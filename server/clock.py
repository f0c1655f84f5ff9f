"""One clock for the whole service: what "today" is, and ISO weeks.

The rule: business dates — due dates, bid deadlines, certification expiry, capacity weeks, and later
invitation deadlines and bookings — are calendar days in Japan (JST, UTC+9, no daylight saving), because the
factories that keep them are there. A deadline date means "until the end of that day in JST".
Timestamps (``created_at`` …) are stored as ``timestamptz`` and shown in UTC.

Services never call ``datetime.now()``: they take ``today`` (or a :class:`Clock`) from their caller. The
GraphQL context carries the request's clock; tests pass a :class:`FixedClock` to fix the day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from solver.dates import iso_week

JST = dt.timezone(dt.timedelta(hours=9), "JST")


class Clock(Protocol):
    """Where the time comes from."""

    def now(self) -> dt.datetime:
        """The current instant, timezone-aware."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class FixedClock:
    """A clock stopped at ``at`` (tests, reproducible demos)."""

    at: dt.datetime

    def now(self) -> dt.datetime:
        return self.at


def today(clock: Clock) -> dt.date:
    """Today's date in Japan."""
    return clock.now().astimezone(JST).date()


def end_of_day_jst(day: dt.date) -> dt.datetime:
    """The last instant of ``day`` in Japan: when a deadline on that day passes."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=JST)


def iso_monday(day: dt.date) -> dt.date:
    """The Monday of ``day``'s ISO week."""
    return day - dt.timedelta(days=day.weekday())


def iso_week_label(monday: dt.date) -> str:
    """``2026-W48`` for the week starting on ``monday`` (the solver's week label)."""
    return iso_week(monday, 0)


SYSTEM_CLOCK = SystemClock()

__all__ = [
    "JST",
    "SYSTEM_CLOCK",
    "Clock",
    "FixedClock",
    "SystemClock",
    "end_of_day_jst",
    "iso_monday",
    "iso_week_label",
    "today",
]
