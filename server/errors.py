"""Errors shared by every domain service: plain exceptions, no GraphQL.

Two kinds, each with its code and the code's description side by side, so adding a code is one edit:

- :class:`ErrorCode` — why an *input* was refused. Services collect :class:`FieldError` values and raise them
  together as :class:`ValidationFailed`; the transaction rolls back. A mutation returns them in its payload's
  ``errors`` list; a query (which has no payload) returns them as one ``BAD_USER_INPUT`` error.
- :class:`ServiceError` subclasses — why the *call* was refused as a whole (``UNAUTHENTICATED``,
  ``FORBIDDEN``, ``NOT_FOUND`` …). A client handles these in one place, not per mutation.

The CLI and background workers call services directly and see these exceptions as they are; the GraphQL
layer translates them once, in :mod:`schema.errors`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar


class ErrorCode(enum.Enum):
    """Machine-readable reason of a payload error; the message says it in words.

    Each member is ``(code, description)``; the description is the schema's documentation of the code.
    """

    INVALID = ("INVALID", "The value is not of the expected form.")
    REQUIRED = ("REQUIRED", "A value is required here.")
    TOO_LONG = ("TOO_LONG", "The text is longer than allowed.")
    OUT_OF_RANGE = ("OUT_OF_RANGE", "The number lies outside the allowed range.")
    NOT_FOUND = ("NOT_FOUND", "The referenced object does not exist or is not visible to the caller.")
    ALREADY_EXISTS = ("ALREADY_EXISTS", "An object with this unique value exists already.")
    INVALID_CREDENTIALS = ("INVALID_CREDENTIALS", "Email or password is not correct.")
    WEAK_PASSWORD = ("WEAK_PASSWORD", "The password is too short.")
    UNKNOWN_PROCESS = ("UNKNOWN_PROCESS", "No process in the taxonomy has this code.")
    UNKNOWN_MATERIAL = ("UNKNOWN_MATERIAL", "No material has this code.")
    MATERIAL_MISMATCH = ("MATERIAL_MISMATCH", "The process does not accept this material's family.")
    UNKNOWN_COUNTRY = ("UNKNOWN_COUNTRY", "Not an ISO 3166-1 alpha-2 country code.")
    UNKNOWN_CURRENCY = ("UNKNOWN_CURRENCY", "Not an ISO 4217 currency code.")
    UNKNOWN_PREFECTURE = ("UNKNOWN_PREFECTURE", "Not a JIS X 0401 prefecture code (01-47).")
    UNKNOWN_CERTIFICATION = ("UNKNOWN_CERTIFICATION", "No certification has this code.")
    UNKNOWN_CLUSTER = ("UNKNOWN_CLUSTER", "No registered factory belongs to a cluster of this name.")
    DATE_IN_PAST = ("DATE_IN_PAST", "The date lies in the past.")
    DATE_ORDER = ("DATE_ORDER", "The dates are in the wrong order.")
    IDEMPOTENCY_CONFLICT = (
        "IDEMPOTENCY_CONFLICT",
        "The idempotency key was used before with a different input.",
    )
    INVALID_STATE = ("INVALID_STATE", "The object's state does not allow this now.")
    CONFLICT = (
        "CONFLICT",
        "Someone changed the object first (a stale version, or a concurrent approval won); reload and retry.",
    )
    FORBIDDEN = (
        "FORBIDDEN",
        "The caller may not do this with the object named (e.g. another owner's factory).",
    )
    BID_DEADLINE_PASSED = (
        "BID_DEADLINE_PASSED",
        "The RFQ's bid deadline (end of that day in JST) has passed.",
    )
    ANSWER_DEADLINE_PASSED = (
        "ANSWER_DEADLINE_PASSED",
        "The invitation's answer deadline has passed; it counts as declined.",
    )
    NOT_ELIGIBLE = (
        "NOT_ELIGIBLE",
        "The factory is not eligible for the work package; the message gives every reason.",
    )
    # --- issue 8, award-quotes: quotes, exchange rates, the award ---
    MEMBERS_PENDING = (
        "MEMBERS_PENDING",
        "Not every member of the approved consortium has accepted its share (or a price awaits "
        "confirmation).",
    )
    NO_EXCHANGE_RATE = ("NO_EXCHANGE_RATE", "No exchange rate is set for this currency.")
    QUOTE_EXPIRED = ("QUOTE_EXPIRED", "The quote's last valid day (JST) has passed.")
    CAPACITY_CONFLICT = (
        "CAPACITY_CONFLICT",
        "The award would overbook a member factory's week (another award took the hours first); the RFQ "
        "goes back to proposed for a repair solve.",
    )

    def __init__(self, code: str, description: str) -> None:
        self.code = code
        self.description = description


@dataclass(frozen=True)
class FieldError:
    """One problem with the input: which field (a dotted path such as ``lines.2.quantity``), why, in words."""

    field: str | None
    code: ErrorCode
    message: str


class ServiceError(Exception):
    """A refusal of the whole call. ``code`` is the GraphQL error's ``extensions.code``."""

    code: ClassVar[str]
    description: ClassVar[str]
    default_message: ClassVar[str]

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)

    def extensions(self) -> dict[str, object]:
        """What a client reads besides the message (always the code)."""
        return {"code": self.code}


class Unauthenticated(ServiceError):
    code = "UNAUTHENTICATED"
    description = "No valid credentials: missing, malformed, expired or revoked token."
    default_message = "Sign in or send a valid API key."


class Forbidden(ServiceError):
    code = "FORBIDDEN"
    description = "Valid credentials, but this caller may not do this or see this."
    default_message = "You are not allowed to do this."


class NotFound(ServiceError):
    code = "NOT_FOUND"
    description = "The object does not exist, or is not visible to this caller (the two are not told apart)."
    default_message = "Not found."


class RateLimited(ServiceError):
    code = "RATE_LIMITED"
    description = "Too many attempts; `extensions.retryAfter` says how many seconds to wait."
    default_message = "Too many attempts; wait before trying again."

    def __init__(self, message: str | None = None, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s

    def extensions(self) -> dict[str, object]:
        return {"code": self.code, "retryAfter": self.retry_after_s}


class ValidationFailed(ServiceError):
    """Raised by a service with every problem it found in the input; nothing was written."""

    code = "BAD_USER_INPUT"
    description = (
        "A query's arguments are wrong; `extensions.errors` lists each problem as `{field, code, message}`."
    )
    default_message = "The arguments are not valid."

    def __init__(self, errors: Iterable[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(e.message for e in self.errors) or None)

    def extensions(self) -> dict[str, object]:
        return {
            "code": self.code,
            "errors": [{"field": e.field, "code": e.code.code, "message": e.message} for e in self.errors],
        }


class LimitExceeded(ServiceError):
    """A request over one of the cost limits of docs/security.md; refused before any work is done.

    ``extensions`` gives the limit and, where it was measured, the request's own figure under ``measure``
    (``cost`` for the query cost, ``count`` for aliases and root fields).
    """

    measure: ClassVar[str] = "count"

    def __init__(self, *, limit: float, actual: int | None = None, message: str | None = None) -> None:
        self.limit = limit
        self.actual = actual
        super().__init__(message)

    def extensions(self) -> dict[str, object]:
        found = {} if self.actual is None else {self.measure: self.actual}
        return {"code": self.code, **found, "limit": self.limit}


class RequestTooLarge(LimitExceeded):
    code = "REQUEST_TOO_LARGE"
    description = "The HTTP request body is larger than the server accepts (HTTP 413); `limit` is in bytes."
    default_message = "The request body is too large."


class QueryTooLarge(LimitExceeded):
    code = "QUERY_TOO_LARGE"
    description = "The query document has more tokens than allowed; it was not parsed."
    default_message = "The query document is too large."


class QueryTooComplex(LimitExceeded):
    code = "QUERY_TOO_COMPLEX"
    description = (
        "The document repeats fields or fragments so often that checking it was stopped at a work budget "
        "(`limit`); select each field once."
    )
    default_message = "The query document is too complex to check."


class QueryTooDeep(LimitExceeded):
    code = "QUERY_TOO_DEEP"
    description = "The operation nests fields deeper than allowed (`limit`); ask for less at once."
    default_message = "The operation nests fields too deeply."


class TooManyAliases(LimitExceeded):
    code = "TOO_MANY_ALIASES"
    description = "The operation uses more aliases than allowed."
    default_message = "The operation uses too many aliases."


class TooManyRootFields(LimitExceeded):
    code = "TOO_MANY_ROOT_FIELDS"
    description = "The operation selects more top-level fields than allowed."
    default_message = "The operation selects too many top-level fields."


class QueryTooCostly(LimitExceeded):
    code = "QUERY_TOO_COSTLY"
    description = (
        "The operation's estimated cost (fields times list sizes: `first`, `weeks`, nested lists) is over "
        "the limit; `cost` and `limit` give both. Ask for smaller pages or fewer fields."
    )
    default_message = "The operation would cost too much to run."
    measure = "cost"


class Timeout(LimitExceeded):
    code = "TIMEOUT"
    description = (
        "The operation ran longer than the per-request time limit (`limit`, in seconds) and was stopped."
    )
    default_message = "The operation took too long and was stopped."


class BadRequest(ServiceError):
    code = "BAD_REQUEST"
    description = (
        "The HTTP request is not a GraphQL request this server reads: not JSON, not an object, no `query`, "
        "or a wrong method or media type (HTTP 4xx)."
    )
    default_message = "This is not a valid GraphQL request."


LIMIT_ERRORS: tuple[type[LimitExceeded], ...] = (
    RequestTooLarge,
    QueryTooLarge,
    QueryTooComplex,
    QueryTooDeep,
    TooManyAliases,
    TooManyRootFields,
    QueryTooCostly,
    Timeout,
)
"""The refusals of the cost limits (docs/security.md lists their settings)."""

SERVICE_ERRORS: tuple[type[ServiceError], ...] = (
    Unauthenticated,
    Forbidden,
    NotFound,
    RateLimited,
    ValidationFailed,
    BadRequest,
    *LIMIT_ERRORS,
)
"""Every ``extensions.code`` a client may meet, besides ``INTERNAL_SERVER_ERROR``."""


def fail(field: str | None, code: ErrorCode, message: str) -> ValidationFailed:
    """Shorthand for a single-error :class:`ValidationFailed`: ``raise fail("email", ...)``."""
    return ValidationFailed([FieldError(field, code, message)])
