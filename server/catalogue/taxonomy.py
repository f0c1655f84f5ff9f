"""The catalogue held in memory: prefectures, materials, processes and certifications by code.

Every GraphQL field that shows a catalogue entry (a capability's process, a factory's prefecture, an RFQ
line's material …) reads it from the request's :class:`Taxonomy`, synchronously: the catalogue is a few
hundred rows that change almost never, so no request queries it.

Staying current: migration 0011 bumps ``catalogue_version`` in every transaction that writes a catalogue
table. :class:`TaxonomyCache` re-reads that one number at most every :data:`CHECK_INTERVAL_S` and reloads the
catalogue when it moved, so a change by any process (or by hand in psql) is seen by all within that
interval; a write made through this process calls :meth:`TaxonomyCache.invalidate` and is seen by the next
request. There is one cache per pool (:func:`taxonomy_for`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass

from server.catalogue import repo
from server.db import Connection, Pool

CHECK_INTERVAL_S = 1.0
"""How long a process trusts its copy before it reads ``catalogue_version`` again."""


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one copy, one object
class Taxonomy:
    """One consistent copy of the catalogue by code, read at ``version`` of ``catalogue_version``."""

    version: int
    prefectures: Mapping[str, repo.Prefecture]
    materials: Mapping[str, repo.Material]
    processes: Mapping[str, repo.Process]
    certifications: Mapping[str, repo.Certification]

    def process(self, code: str) -> repo.Process:
        """The process ``code`` names; codes in rows are foreign keys, so it exists."""
        return self.processes[code]

    def material(self, code: str) -> repo.Material:
        return self.materials[code]

    def prefecture(self, code: str) -> repo.Prefecture:
        return self.prefectures[code]


async def current_version(conn: Connection) -> int:
    version: int = await conn.fetchval("SELECT version FROM catalogue_version")
    return version


async def load_taxonomy(conn: Connection) -> Taxonomy:
    """The whole catalogue. The version is read first: a change committed while the tables are read makes
    the next check reload, never hides behind a version that already counts it."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        version = await current_version(conn)
        prefectures = await repo.list_prefectures(conn)
        materials = await repo.list_materials(conn)
        processes = await repo.list_processes(conn)
        certifications = await repo.list_certifications(conn)
    return Taxonomy(
        version=version,
        prefectures={p.code: p for p in prefectures},
        materials={m.code: m for m in materials},
        processes={p.code: p for p in processes},
        certifications={c.code: c for c in certifications},
    )


class TaxonomyCache:
    """A process's copy of the catalogue for ``pool``'s database (see the module's docstring)."""

    def __init__(self, pool: Pool, *, check_interval_s: float = CHECK_INTERVAL_S) -> None:
        self.pool = pool
        self.check_interval_s = check_interval_s
        self._taxonomy: Taxonomy | None = None
        self._next_check = 0.0
        self._lock = asyncio.Lock()

    async def current(self) -> Taxonomy:
        """The catalogue as of at most ``check_interval_s`` ago (or as of the last :meth:`invalidate`)."""
        taxonomy = self._taxonomy
        if taxonomy is not None and time.monotonic() < self._next_check:
            return taxonomy
        async with self._lock:
            if self._taxonomy is None or time.monotonic() >= self._next_check:
                # Checked before the read: a change during the read is found by the next check.
                self._next_check = time.monotonic() + self.check_interval_s
                async with self.pool.acquire() as conn:
                    version = await current_version(conn)
                    if self._taxonomy is None or self._taxonomy.version != version:
                        self._taxonomy = await load_taxonomy(conn)
            return self._taxonomy

    def invalidate(self) -> None:
        """The catalogue was written by this process: the next :meth:`current` checks the version."""
        self._next_check = 0.0


_CACHES: dict[int, TaxonomyCache] = {}


def taxonomy_for(pool: Pool) -> TaxonomyCache:
    """The catalogue cache of ``pool`` (created on first use)."""
    cache = _CACHES.get(id(pool))
    if cache is None or cache.pool is not pool:
        cache = _CACHES[id(pool)] = TaxonomyCache(pool)
    return cache


def forget(pool: Pool) -> None:
    """Drop ``pool``'s cache (the pool is closing)."""
    if (cache := _CACHES.get(id(pool))) is not None and cache.pool is pool:
        del _CACHES[id(pool)]


__all__ = [
    "CHECK_INTERVAL_S",
    "Taxonomy",
    "TaxonomyCache",
    "current_version",
    "forget",
    "load_taxonomy",
    "taxonomy_for",
]
