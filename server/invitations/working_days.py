"""Working days in Japan, for the invitations' default answer deadline.

A working day is a weekday that is not a Japanese public holiday (``jpholiday``: the Cabinet Office's list,
substitute and citizens' holidays included). Company holidays (Obon, the new-year break) are not public
holidays; a coordinator who knows members are closed sets a later deadline at approval.
"""

from __future__ import annotations

import datetime as dt

import jpholiday

DEFAULT_ANSWER_WORKING_DAYS = 3
"""Members answer within this many working days after the approval (the end of the last one, JST)."""


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and not jpholiday.is_holiday(day)


def add_working_days(day: dt.date, count: int) -> dt.date:
    """The ``count``-th working day after ``day`` (``day`` itself never counts)."""
    while count > 0:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            count -= 1
    return day


def default_answer_day(today: dt.date) -> dt.date:
    """The day (JST) by whose end members answer an invitation sent ``today``."""
    return add_working_days(today, DEFAULT_ANSWER_WORKING_DAYS)


__all__ = ["DEFAULT_ANSWER_WORKING_DAYS", "add_working_days", "default_answer_day", "is_working_day"]
