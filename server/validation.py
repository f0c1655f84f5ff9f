"""Input checks shared by the domain services.

Each check appends to an error list instead of raising, so that one call reports every problem at once.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pycountry

from server.errors import ErrorCode, FieldError

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


class Errors(list[FieldError]):
    """The problems found so far in one input."""

    def add(self, field: str | None, code: ErrorCode, message: str) -> None:
        self.append(FieldError(field, code, message))

    def has(self, field: str) -> bool:
        """Some problem is already reported on ``field`` (so a later check of it would only repeat it)."""
        return any(e.field == field for e in self)


def is_storable(text: str) -> bool:
    """Whether PostgreSQL can hold ``text``: no NUL character, no lone surrogate (both valid in JSON)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_storable(errors: Errors, field: str, text: str) -> str:
    """INVALID for text PostgreSQL cannot store; ``text`` unchanged."""
    if not is_storable(text):
        errors.add(field, ErrorCode.INVALID, f"{field} contains characters that cannot be stored.")
    return text


def clean_text(
    errors: Errors, field: str, value: str | None, *, max_length: int, required: bool = True
) -> str:
    """``value`` stripped; REQUIRED when empty and required, TOO_LONG past ``max_length`` characters,
    INVALID when it holds characters PostgreSQL cannot store."""
    text = (value or "").strip()
    if required and not text:
        errors.add(field, ErrorCode.REQUIRED, f"{field} is required.")
    elif len(text) > max_length:
        errors.add(field, ErrorCode.TOO_LONG, f"{field} is at most {max_length} characters.")
    else:
        check_storable(errors, field, text)
    return text


def clean_email(errors: Errors, field: str, value: str) -> str:
    """The address in lower case; INVALID when it does not look like an email address."""
    email = value.strip().lower()
    if len(email) > 254 or not email.isprintable() or not is_storable(email) or not _EMAIL.match(email):
        errors.add(field, ErrorCode.INVALID, "Enter a valid email address.")
    return email


def check_range(
    errors: Errors, field: str, value: float | None, *, low: float | None = None, high: float | None = None
) -> None:
    """OUT_OF_RANGE when ``value`` lies outside [low, high] (either bound optional)."""
    if value is None:
        return
    if (low is not None and value < low) or (high is not None and value > high):
        if low is not None and high is not None:
            bounds = f"between {plain_number(low)} and {plain_number(high)}"
        elif low is not None:
            bounds = f"at least {plain_number(low)}"
        elif high is not None:
            bounds = f"at most {plain_number(high)}"
        else:  # unreachable: some bound was crossed
            return
        errors.add(field, ErrorCode.OUT_OF_RANGE, f"{field} must be {bounds}.")


def plain_number(value: float | int | Decimal) -> str:
    """A number as people write it in a message: ``1000000``, ``0.001``, ``12.5`` (never ``1e+06``)."""
    text = format(Decimal(str(value)).normalize(), "f")
    return text


def clean_country(errors: Errors, field: str, value: str) -> str:
    """An ISO 3166-1 alpha-2 code in upper case; UNKNOWN_COUNTRY otherwise."""
    code = value.strip().upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        errors.add(field, ErrorCode.UNKNOWN_COUNTRY, f"{value!r} is not an ISO 3166-1 alpha-2 country code.")
    return code


def clean_currency(errors: Errors, field: str, value: str) -> str:
    """An ISO 4217 code in upper case; UNKNOWN_CURRENCY otherwise."""
    code = value.strip().upper()
    if len(code) != 3 or pycountry.currencies.get(alpha_3=code) is None:
        errors.add(field, ErrorCode.UNKNOWN_CURRENCY, f"{value!r} is not an ISO 4217 currency code.")
    return code
