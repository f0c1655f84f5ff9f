"""Where service errors become GraphQL errors: the payload error type, and the one translation of exceptions.

Services raise the plain exceptions of :mod:`server.errors`. Here, and only here, they become what a client
reads:

- in a mutation, :func:`attempt` turns :class:`ValidationFailed` into the payload's ``errors`` list;
- anywhere else, :func:`translate_errors` (called by the schema for every result) gives each error the
  ``extensions.code`` of its exception. An exception that is not one of ours is a bug: it is logged once with
  a traceback under a fresh error id, and the client gets that id in ``extensions.errorId`` (in production the
  message is replaced by "Unexpected error", so internals never leak). Expected errors get one INFO line.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Iterable
from typing import TypeVar

import strawberry
from graphql import GraphQLError

from server.errors import ErrorCode, FieldError, ServiceError, ValidationFailed

log = logging.getLogger("machikoba.graphql")

T = TypeVar("T")

INTERNAL_ERROR_CODE = "INTERNAL_SERVER_ERROR"

ErrorCodeEnum = strawberry.enum(
    ErrorCode,
    name="ErrorCode",
    description="Why a mutation refused its input. The message says the same in words.",
)
for _value in ErrorCodeEnum.__strawberry_definition__.values:  # type: ignore[attr-defined]
    _value.description = ErrorCode[_value.name].description


@strawberry.type(description="A problem with a mutation's input. Nothing was written when any is present.")
class Error:
    field: str | None = strawberry.field(
        description="The input field at fault as a dotted path (e.g. `lines.2.quantity`), or null for the "
        "input as a whole."
    )
    code: ErrorCode = strawberry.field(description="Machine-readable reason.")
    message: str = strawberry.field(description="The reason in words, fit to show to a person.")

    @classmethod
    def from_row(cls, row: FieldError) -> Error:
        return cls(field=row.field, code=row.code, message=row.message)


async def attempt(call: Awaitable[T]) -> tuple[T | None, list[Error]]:
    """Await a service call; turn :class:`ValidationFailed` into payload errors."""
    try:
        return await call, []
    except ValidationFailed as failed:
        return None, [Error.from_row(e) for e in failed.errors]


def translate_errors(errors: Iterable[GraphQLError], *, mask_unexpected: bool) -> None:
    """Give each error of a result its ``extensions.code``, and log it; changes the errors in place.

    - Errors of the query document itself (syntax, validation) have no original exception: they are the
      client's mistake and pass unchanged, with an INFO line.
    - A variable that cannot be coerced (``Variable '$x' got invalid value …``) is the client's mistake too,
      even when a scalar's parser raised a plain exception: ``BAD_USER_INPUT`` with its real message.
    - :class:`ServiceError`: its code (and, for bad input, the list of problems); an INFO line.
    - Anything else: a new error id, a traceback in the log under that id, ``INTERNAL_SERVER_ERROR`` with the
      id for the client, and with ``mask_unexpected`` the message replaced.
    """
    for error in errors:
        original = error.original_error
        if _is_variable_error(error):
            error.extensions = {**(error.extensions or {}), "code": ValidationFailed.code}
            error.original_error = None
            log.info("rejected variables: %s", error.message)
            continue
        if original is None:
            log.info("rejected query: %s", error.message)
            continue
        if isinstance(original, ServiceError):
            error.extensions = {**(error.extensions or {}), **original.extensions()}
            log.info("%s at %s: %s", original.code, _path(error), original.message)
            continue
        if isinstance(original, GraphQLError) and error.extensions and "code" in error.extensions:
            continue  # already carries a code of a library we use (e.g. strawberry's own)
        error_id = uuid.uuid4().hex[:12]
        log.error("unexpected error %s at %s", error_id, _path(error), exc_info=original)
        error.extensions = {"code": INTERNAL_ERROR_CODE, "errorId": error_id}
        if mask_unexpected:
            error.message = f"Unexpected error (id {error_id})."
            error.original_error = None


def _is_variable_error(error: GraphQLError) -> bool:
    # graphql-core words every coercion failure of a variable this way (execution/values.py), and raises it
    # before execution, so such an error never has a path.
    return error.path is None and error.message.startswith("Variable '$")


def _path(error: GraphQLError) -> str:
    return ".".join(str(p) for p in error.path) if error.path else "(operation)"


__all__ = ["INTERNAL_ERROR_CODE", "Error", "ErrorCodeEnum", "attempt", "translate_errors"]
