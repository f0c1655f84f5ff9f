"""Ids are parsed here, once, at the edge: services take :class:`uuid.UUID` only.

A malformed id names nothing, so it is reported exactly like an id of an object that does not exist or that
the caller may not see: ``NOT_FOUND``. Get-by-id fields are non-null and raise that error (``rfq``,
``factory``); they never answer null.
"""

from __future__ import annotations

from uuid import UUID

import strawberry

from server.errors import NotFound


def parse_id(value: strawberry.ID | str, *, kind: str) -> UUID:
    """The UUID in ``value``; ``NotFound("No such <kind>.")`` when it is not one."""
    try:
        return UUID(str(value))
    except ValueError:
        raise NotFound(f"No such {kind}.") from None


def parse_optional_id(value: strawberry.ID | str | None, *, kind: str) -> UUID | None:
    """:func:`parse_id` for an optional argument (None stays None)."""
    return None if value is None else parse_id(value, kind=kind)


def to_id(value: UUID) -> strawberry.ID:
    """A UUID as the GraphQL ``ID`` clients see."""
    return strawberry.ID(str(value))


__all__ = ["parse_id", "parse_optional_id", "to_id"]
