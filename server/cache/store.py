"""The cached answers of one process: response bodies by key, least recently used first out, bounded in bytes.

Entries belong to a registry generation (:mod:`server.cache.generation`). When a newer generation is seen
(a notification, or a request's own read of the counter) or the listening connection is lost, every entry
is dropped and the ``epoch`` moves on. An answer computed while the epoch was ``e`` is stored only if the
epoch is still ``e``: an answer that may predate a write this process heard of is never kept.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

Key = tuple[str, ...]


@dataclass
class Stats:
    """Counters of the cache's decisions since the process started (the benchmark reports the hit rate)."""

    hits: int = 0
    misses: int = 0
    shared: int = 0
    """Misses answered by a computation of the same key already running (counted in ``misses`` too)."""
    stored: int = 0
    bypassed: int = 0
    dropped: int = 0

    @property
    def hit_rate(self) -> float:
        asked = self.hits + self.misses
        return self.hits / asked if asked else 0.0


class ResponseStore:
    """Response bodies by key, at most ``max_bytes`` of them."""

    def __init__(self, *, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.generation: int | None = None
        self.epoch = 0
        self.stats = Stats()
        self._entries: OrderedDict[Key, bytes] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def observe(self, generation: int | None) -> int:
        """Take note of the registry's ``generation`` (None: unknown, e.g. the connection was lost); drop
        every entry unless it is the one they belong to, or an older one. Returns the epoch."""
        if generation is None or self.generation is None or generation > self.generation:
            self.clear()
            self.generation = generation
        return self.epoch

    def clear(self) -> None:
        if self._entries:
            self.stats.dropped += len(self._entries)
        self._entries.clear()
        self._bytes = 0
        self.epoch += 1

    def get(self, key: Key) -> bytes | None:
        body = self._entries.get(key)
        if body is None:
            self.stats.misses += 1
            return None
        self._entries.move_to_end(key)
        self.stats.hits += 1
        return body

    def put(self, key: Key, body: bytes, *, epoch: int) -> bool:
        """Keep ``body``, computed in ``epoch``, unless the epoch moved on since, or it is too large."""
        size = _size(key, body)
        if epoch != self.epoch or self.generation is None or size > self.max_bytes // 4:
            return False
        previous = self._entries.pop(key, None)
        if previous is not None:
            self._bytes -= _size(key, previous)
        self._entries[key] = body
        self._bytes += size
        while self._bytes > self.max_bytes:
            evicted_key, evicted = self._entries.popitem(last=False)
            self._bytes -= _size(evicted_key, evicted)
        self.stats.stored += 1
        return True


def _size(key: Key, body: bytes) -> int:
    """What an entry costs, roughly: its body and the text of its key (variables may be long)."""
    return len(body) + sum(len(part) for part in key)
