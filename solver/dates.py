"""Day and week indices relative to a problem's origin (a Monday) ↔ ISO dates and ISO weeks."""

from __future__ import annotations

import re
from datetime import date, timedelta

__all__ = ["date_of", "day_of", "iso_week", "week_label", "week_of"]

_ISO_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def date_of(origin: date, day: int) -> date:
    return origin + timedelta(days=day)


def day_of(origin: date, value: date) -> int:
    return (value - origin).days


def iso_week(origin: date, week: int) -> str:
    """``2026-W48`` for week index ``week``."""
    year, number, _ = date_of(origin, 7 * week).isocalendar()
    return f"{year}-W{number:02d}"


def week_of(origin: date, text: str) -> int:
    """Week index of an ISO week string; raises ``ValueError`` if malformed."""
    m = _ISO_WEEK.match(text)
    if m is None:
        raise ValueError(f"expected an ISO week like 2026-W48, got {text!r}")
    monday = date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    return (monday - origin).days // 7


def week_label(origin: date, day: int) -> str:
    """``2026-11-27 (2026-W48)`` for a day index."""
    return f"{date_of(origin, day).isoformat()} ({iso_week(origin, day // 7)})"
