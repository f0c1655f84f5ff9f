"""The registry generation as one process sees it: a LISTEN connection and a cheap read of the counter.

Every committed write to the registry's tables moves ``registry_generation.value`` forward and notifies
:data:`CHANNEL` with the new value (migrations/0015_registry_generation.sql). :class:`RegistryGeneration`
holds one connection of its own per process (not a pool slot) that LISTENs, and calls ``on_change`` on
every notification, and when the connection is lost (notifications may have been missed while it is down:
the cache is dropped and not used until a new connection is up).

A notification arrives some time after the commit. So that a caller never reads an answer older than its
own last write — which may have gone through another process — :meth:`RegistryGeneration.read` reads the
counter itself, on the listening connection: one round trip, shared by every request that asked while the
previous read was running (each read starts after every request it answers arrived, so it sees every
write committed before them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import asyncpg

from server import db

log = logging.getLogger("machikoba.cache")

CHANNEL = "machikoba_registry"
"""The channel the registry's writes notify (payload: the new generation)."""

READ_TIMEOUT_S = 5.0
"""A read of the counter that takes longer gives the connection up (the cache is bypassed until a new one
listens): a hung connection must not hang requests."""

RETRY_S = 5.0
"""How long after a failed connection attempt the next one may be made (the cache is bypassed meanwhile)."""


class RegistryGeneration:
    """The registry generation of ``pool``'s database, for one process.

    ``on_change(generation)`` runs on each notification (``generation`` is the new value) and with None when
    the connection is lost.
    """

    def __init__(self, pool: db.Pool, on_change: Callable[[int | None], object]) -> None:
        self.pool = pool
        self.on_change = on_change
        self._conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()
        self._retry_at = 0.0
        self._next: asyncio.Future[int] | None = None
        self._reader: asyncio.Task[None] | None = None
        self.round_trips = 0
        """How many reads of the counter went to the database (each answers every request then waiting)."""

    @property
    def listening(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    async def read(self) -> int | None:
        """The generation, read after this call began; None when there is no connection (the caller then
        does without the cache)."""
        if not self.listening and not await self._connect():
            return None
        waiter = self._next
        if waiter is None:
            waiter = self._next = asyncio.get_running_loop().create_future()
            if self._reader is None or self._reader.done():
                self._reader = asyncio.create_task(self._read_all(), name="registry-generation")
        try:
            return await asyncio.shield(waiter)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return None

    async def _read_all(self) -> None:
        """Serve the waiting readers, one round trip per batch, until nobody waits."""
        while self._next is not None:
            batch, self._next = self._next, None
            conn = self._conn
            try:
                if conn is None:
                    raise asyncpg.InterfaceError("the registry connection is closed")
                self.round_trips += 1
                value = await conn.fetchval("SELECT value FROM registry_generation", timeout=READ_TIMEOUT_S)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                batch.set_exception(exc)
                batch.exception()  # retrieved: each waiter gets it through its shield
                self._lost()
            else:
                batch.set_result(int(value))

    async def _connect(self) -> bool:
        async with self._lock:
            if self.listening:
                return True
            if time.monotonic() < self._retry_at:
                return False
            conn: asyncpg.Connection | None = None
            try:
                conn = await db.connect_like(self.pool)
                if conn is None:
                    log.warning("the response cache is off: its pool was not made by server.db.create_pool")
                    self._retry_at = float("inf")
                    return False
                await conn.add_listener(CHANNEL, self._on_notify)
                conn.add_termination_listener(self._on_terminated)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("the response cache cannot listen (%s); next try in %g s", exc, RETRY_S)
                self._retry_at = time.monotonic() + RETRY_S
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.terminate()
                return False
            self._conn = conn
            # Whatever was cached before this connection listened may have missed notifications.
            self.on_change(None)
            return True

    def _on_notify(self, conn: object, pid: int, channel: str, payload: object) -> None:
        try:
            generation = int(str(payload))
        except ValueError:
            log.warning("unreadable registry notification: %.100s", payload)
            generation = None  # drop everything: the safe answer to anything unexpected
        self.on_change(generation)

    def _on_terminated(self, conn: object) -> None:
        self._lost()

    def _lost(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            log.warning("the response cache lost its registry connection; bypassed until it reconnects")
            with contextlib.suppress(Exception):
                conn.terminate()
        self.on_change(None)

    async def close(self) -> None:
        """Stop listening (the application's shutdown)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close(timeout=5)
