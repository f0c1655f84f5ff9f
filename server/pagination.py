"""Keyset pagination: opaque cursors that encode the sort key of the last row seen.

A cursor is URL-safe base64 of a small JSON list, e.g. the ``[name, id]`` of the last row; a repository
continues with ``WHERE (name, id) > ($1, $2)``. Unlike offsets, pages stay correct while rows are inserted.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from server.errors import ErrorCode, ValidationFailed, fail

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


def encode_cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, default=str).encode()).decode().rstrip("=")


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


__all__ = ["MAX_PAGE_SIZE", "ValidationFailed", "decode_cursor", "encode_cursor", "page_size"]
