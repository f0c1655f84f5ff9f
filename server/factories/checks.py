"""Input checks shared by the factories services (profile, capabilities, capacity).

Like :mod:`server.validation`, each appends to an :class:`Errors` list, so one call reports every problem.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from server.errors import ErrorCode
from server.validation import Errors, check_range, check_storable

# Dates outside these years are typing mistakes, and far-off ones would overflow date arithmetic.
FIRST_YEAR, LAST_YEAR = 2000, 2100
MAX_CODE_LENGTH = 40


def check_number(
    errors: Errors, field: str, value: float | Decimal | None, *, low: float, high: float
) -> None:
    """OUT_OF_RANGE outside [low, high]; NaN and infinities are out of every range."""
    if value is None:
        return
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        errors.add(field, ErrorCode.OUT_OF_RANGE, f"{field} must be a finite number.")
        return
    check_range(errors, field, number, low=low, high=high)


def check_year(errors: Errors, field: str, day: dt.date) -> None:
    """OUT_OF_RANGE for a date outside FIRST_YEAR–LAST_YEAR."""
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        errors.add(field, ErrorCode.OUT_OF_RANGE, f"{field} must be between {FIRST_YEAR} and {LAST_YEAR}.")


def clean_code(errors: Errors, field: str, value: str, *, upper: bool) -> str:
    """A catalogue code stripped and case-folded (materials upper case, processes lower case); REQUIRED when
    empty, TOO_LONG past MAX_CODE_LENGTH."""
    code = value.strip()
    code = code.upper() if upper else code.lower()
    if not code:
        errors.add(field, ErrorCode.REQUIRED, f"{field} is required.")
    elif len(code) > MAX_CODE_LENGTH:
        errors.add(field, ErrorCode.TOO_LONG, f"{field} is at most {MAX_CODE_LENGTH} characters.")
    return check_storable(errors, field, code)
