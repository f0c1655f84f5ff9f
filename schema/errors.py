"""The error shape every mutation payload shares, and the helper that fills it."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

import strawberry

from server.errors import ErrorCode, FieldError, ValidationFailed

T = TypeVar("T")

ErrorCodeEnum = strawberry.enum(
    ErrorCode,
    name="ErrorCode",
    description="Why a mutation refused its input. The message says the same in words.",
)


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


async def attempt(call: Awaitable[T]) -> tuple[T | None, list[Error]]:
    """Await a service call; turn :class:`ValidationFailed` into payload errors."""
    try:
        return await call, []
    except ValidationFailed as failed:
        return None, [Error.from_field_error(e) for e in failed.errors]


__all__ = ["Error", "ErrorCodeEnum", "attempt"]
