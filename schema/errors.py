"""The error shape every mutation payload shares, and the helper that fills it."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

import strawberry
from graphql import GraphQLError

from server.errors import ErrorCode, FieldError, ValidationFailed

T = TypeVar("T")

ErrorCodeEnum = strawberry.enum(
    ErrorCode,
    name="ErrorCode",
    description="Why a mutation refused its input. The message says the same in words.",
)

# What each code means, for the schema's readers. A code without an entry here fails the schema test.
ERROR_CODE_DESCRIPTIONS: dict[str, str] = {
    "INVALID": "The value is not of the expected form.",
    "REQUIRED": "A value is required here.",
    "TOO_LONG": "The text is longer than allowed.",
    "OUT_OF_RANGE": "The number lies outside the allowed range.",
    "NOT_FOUND": "The referenced object does not exist or is not visible to the caller.",
    "ALREADY_EXISTS": "An object with this unique value exists already.",
    "INVALID_CREDENTIALS": "Email or password is not correct.",
    "WEAK_PASSWORD": "The password is too short.",
    "UNKNOWN_PROCESS": "No process in the taxonomy has this code.",
    "UNKNOWN_MATERIAL": "No material has this code.",
    "MATERIAL_MISMATCH": "The process does not accept this material's family.",
    "UNKNOWN_COUNTRY": "Not an ISO 3166-1 alpha-2 country code.",
    "UNKNOWN_CURRENCY": "Not an ISO 4217 currency code.",
    "UNKNOWN_PREFECTURE": "Not a JIS X 0401 prefecture code (01-47).",
    "UNKNOWN_CERTIFICATION": "No certification has this code.",
    "DATE_IN_PAST": "The date lies in the past.",
    "DATE_ORDER": "The dates are in the wrong order.",
    "IDEMPOTENCY_CONFLICT": "The idempotency key was used before with a different input.",
    "INVALID_STATE": "The object's state does not allow this now.",
}
for _value in ErrorCodeEnum.__strawberry_definition__.values:  # type: ignore[attr-defined]
    _value.description = ERROR_CODE_DESCRIPTIONS.get(_value.name)


@strawberry.type(description="A problem with a mutation's input. Nothing was written when any is present.")
class Error:
    field: str | None = strawberry.field(
        description="The input field at fault as a dotted path (e.g. `lines.2.quantity`), or null for the "
        "input as a whole."
    )
    code: ErrorCode = strawberry.field(description="Machine-readable reason.")
    message: str = strawberry.field(description="The reason in words, fit to show to a person.")

    @classmethod
    def from_field_error(cls, error: FieldError) -> Error:
        return cls(field=error.field, code=error.code, message=error.message)


class BadUserInput(GraphQLError):
    """A query's arguments are wrong: ``extensions.errors`` lists each problem as ``{field, code, message}``.

    Mutations report such problems in their payload; queries have no payload, so they use this error.
    """

    def __init__(self, failed: ValidationFailed) -> None:
        super().__init__(
            "; ".join(e.message for e in failed.errors) or "The arguments are not valid.",
            extensions={
                "code": "BAD_USER_INPUT",
                "errors": [
                    {"field": e.field, "code": e.code.value, "message": e.message} for e in failed.errors
                ],
            },
        )


async def attempt(call: Awaitable[T]) -> tuple[T | None, list[Error]]:
    """Await a service call; turn :class:`ValidationFailed` into payload errors."""
    try:
        return await call, []
    except ValidationFailed as failed:
        return None, [Error.from_field_error(e) for e in failed.errors]


__all__ = ["BadUserInput", "Error", "ErrorCodeEnum", "attempt"]
