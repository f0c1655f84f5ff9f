"""Keyset pagination: one page type for every list, opaque cursors that encode the sort key of a row.

A cursor is URL-safe base64 of a small JSON list, e.g. the ``[name, id]`` of the last row; a repository
continues with ``WHERE (name, id) > ($1, $2)``. Unlike offsets, pages stay correct while rows are inserted.

A service asks its repository for ``limit + 1`` rows and hands them to :func:`page_of`; the schema turns the
:class:`Page` into a connection with :func:`schema.pagination.connection`. ``total_count`` is a thunk, so the
count query runs only when a client asks for ``totalCount``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from server.errors import ErrorCode, fail

T = TypeVar("T")

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of rows in list order; ``cursors[i]`` continues after ``items[i]``."""

    items: list[T]
    cursors: list[str]
    has_next_page: bool
    total_count: Callable[[], Awaitable[int]]

    @property
    def end_cursor(self) -> str | None:
        return self.cursors[-1] if self.cursors else None


def page_of(
    rows: Sequence[T],
    *,
    limit: int,
    cursor_key: Callable[[T], list[Any]],
    total_count: Callable[[], Awaitable[int]],
) -> Page[T]:
    """The page of ``rows`` (fetched with ``LIMIT limit + 1``): the extra row only says a next page exists."""
    items = list(rows[:limit])
    return Page(
        items=items,
        cursors=[encode_cursor(cursor_key(row)) for row in items],
        has_next_page=len(rows) > limit,
        total_count=total_count,
    )


# ``json.dumps(key, default=str)`` builds an encoder per call; one built once writes the same text in half
# the time (a page encodes a cursor per row).
_CURSOR_ENCODER = json.JSONEncoder(default=str)


def encode_cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(_CURSOR_ENCODER.encode(key).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *, length: int) -> list[Any]:
    """The key inside ``cursor``; INVALID on ``after`` when it is not one of ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise fail("after", ErrorCode.INVALID, "This cursor is not valid.") from None
    if not isinstance(key, list) or len(key) != length:
        raise fail("after", ErrorCode.INVALID, "This cursor is not valid.")
    return key


def page_size(first: int | None) -> int:
    """``first`` checked against the allowed page sizes."""
    if first is None:
        return DEFAULT_PAGE_SIZE
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise fail("first", ErrorCode.OUT_OF_RANGE, f"first must be between 1 and {MAX_PAGE_SIZE}.")
    return first


__all__ = ["MAX_PAGE_SIZE", "Page", "decode_cursor", "encode_cursor", "page_of", "page_size"]
