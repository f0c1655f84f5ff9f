"""Errors shared by every domain service.

Expected failures (bad input, a rule the caller broke) are collected as :class:`FieldError` values and raised
together as :class:`ValidationFailed`: the service's transaction rolls back and the GraphQL layer returns them
in the payload's ``errors`` list. Authentication and authorisation failures are GraphQL errors with an
``extensions.code``, since a client handles them in one place, not per mutation.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from graphql import GraphQLError


class ErrorCode(enum.Enum):
    """Machine-readable reason of a payload error; the message says it in words."""

    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    TOO_LONG = "TOO_LONG"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    NOT_FOUND = "NOT_FOUND"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    WEAK_PASSWORD = "WEAK_PASSWORD"
    UNKNOWN_PROCESS = "UNKNOWN_PROCESS"
    UNKNOWN_MATERIAL = "UNKNOWN_MATERIAL"
    MATERIAL_MISMATCH = "MATERIAL_MISMATCH"
    UNKNOWN_COUNTRY = "UNKNOWN_COUNTRY"
    UNKNOWN_CURRENCY = "UNKNOWN_CURRENCY"
    UNKNOWN_PREFECTURE = "UNKNOWN_PREFECTURE"
    UNKNOWN_CERTIFICATION = "UNKNOWN_CERTIFICATION"
    DATE_IN_PAST = "DATE_IN_PAST"
    DATE_ORDER = "DATE_ORDER"
    IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"
    INVALID_STATE = "INVALID_STATE"


@dataclass(frozen=True)
class FieldError:
    """One problem with the input: which field (a dotted path such as ``lines.2.quantity``), why, in words."""

    field: str | None
    code: ErrorCode
    message: str


class ValidationFailed(Exception):
    """Raised by a service with every problem it found; nothing was written."""

    def __init__(self, errors: Iterable[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in self.errors))


def fail(field: str | None, code: ErrorCode, message: str) -> ValidationFailed:
    """Shorthand for a single-error :class:`ValidationFailed`: ``raise fail("email", ...)``."""
    return ValidationFailed([FieldError(field, code, message)])


class Unauthenticated(GraphQLError):
    """No valid credentials: missing, malformed, expired or revoked token."""

    def __init__(self, message: str = "Sign in or send a valid API key.") -> None:
        super().__init__(message, extensions={"code": "UNAUTHENTICATED"})


class Forbidden(GraphQLError):
    """Valid credentials, but this caller may not do this or see this."""

    def __init__(self, message: str = "You are not allowed to do this.") -> None:
        super().__init__(message, extensions={"code": "FORBIDDEN"})


class NotFound(GraphQLError):
    """The object does not exist, or is not visible to this caller (the two are not told apart)."""

    def __init__(self, message: str = "Not found.") -> None:
        super().__init__(message, extensions={"code": "NOT_FOUND"})
