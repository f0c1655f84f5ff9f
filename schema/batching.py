"""Putting a batch query's rows back in the order of the DataLoader's keys (every loader does this)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
R = TypeVar("R")


def one_per_key(rows: Iterable[R], keys: Sequence[K], key: Callable[[R], K]) -> list[R | None]:
    """For each key, its row (None when there is none): for ``X_by_id`` loaders."""
    by_key = {key(row): row for row in rows}
    return [by_key.get(k) for k in keys]


def many_per_key(rows: Iterable[R], keys: Sequence[K], key: Callable[[R], K]) -> list[list[R]]:
    """For each key, its rows in the order the query returned them: for one-to-many relations."""
    grouped: dict[K, list[R]] = defaultdict(list)
    for row in rows:
        grouped[key(row)].append(row)
    return [grouped.get(k, []) for k in keys]


__all__ = ["many_per_key", "one_per_key"]
