"""Live job state across processes: workers NOTIFY, each server LISTENs once and fans out to its watchers.

Every change of a ``solve_jobs`` row is announced on :data:`server.jobs.repo.CHANNEL` with the new state, in
the transaction that made it. A server process holds one listening connection (borrowed from its pool while
anyone watches, returned when the last watcher leaves) and hands each notification to the queues of the
watchers of that job. :func:`watch_job` turns that into the stream a subscription sends: the latest state
first, then every newer one, until the job has finished. Notifications carry a ``version``; older or repeated
ones are dropped, and a watcher that hears nothing for a while reads the row itself, so a lost connection
delays the stream but does not end or corrupt it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

from server.auth.principal import Principal
from server.db import Pool
from server.jobs import repo, service

log = logging.getLogger("machikoba.jobs")

POLL_S = 5.0
"""How long a watcher waits for a notification before it reads the job row itself."""


class JobEvents:
    """The fan-out of one pool's process: job id → the queues of its watchers."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self._watchers: dict[UUID, set[asyncio.Queue[repo.SolveJob]]] = {}
        self._conn: Any = None
        self._lock = asyncio.Lock()

    @property
    def watching(self) -> int:
        return sum(len(q) for q in self._watchers.values())

    @contextlib.asynccontextmanager
    async def watch(self, job_id: UUID) -> AsyncIterator[asyncio.Queue[repo.SolveJob]]:
        """A queue receiving every announced state of job ``job_id`` while the context lasts."""
        inbox: asyncio.Queue[repo.SolveJob] = asyncio.Queue()
        async with self._lock:
            if self._conn is None:
                conn = await self.pool.acquire()
                try:
                    await conn.add_listener(repo.CHANNEL, self._on_notify)
                except BaseException:
                    await self.pool.release(conn)
                    raise
                self._conn = conn
            self._watchers.setdefault(job_id, set()).add(inbox)
        try:
            yield inbox
        finally:
            async with self._lock:
                watchers = self._watchers.get(job_id, set())
                watchers.discard(inbox)
                if not watchers:
                    self._watchers.pop(job_id, None)
                if not self._watchers and self._conn is not None:
                    conn, self._conn = self._conn, None
                    with contextlib.suppress(Exception):
                        await conn.remove_listener(repo.CHANNEL, self._on_notify)
                    await self.pool.release(conn)
                    _HUBS.pop(id(self.pool), None)

    def _on_notify(self, conn: object, pid: int, channel: str, payload: object) -> None:
        try:
            job = repo.job_from_event(str(payload))
        except (ValueError, KeyError, TypeError):
            log.exception("unreadable solve job notification: %.200s", payload)
            return
        for inbox in self._watchers.get(job.id, ()):
            inbox.put_nowait(job)


_HUBS: dict[int, JobEvents] = {}


def events_for(pool: Pool) -> JobEvents:
    """The fan-out of ``pool``'s process (created on first use, dropped when nobody watches)."""
    hub = _HUBS.get(id(pool))
    if hub is None or hub.pool is not pool:
        hub = _HUBS[id(pool)] = JobEvents(pool)
    return hub


async def watch_job(
    pool: Pool, principal: Principal, *, job_id: UUID, rfq_id: UUID | None = None, poll_s: float = POLL_S
) -> AsyncIterator[repo.SolveJob]:
    """The job's latest state, then each newer one, ending with its final state. Authorised like
    :func:`server.jobs.service.get_job` (NOT_FOUND before anything is sent)."""
    job = await service.get_job(pool, principal, job_id=job_id, rfq_id=rfq_id)
    async with events_for(pool).watch(job_id) as inbox:
        # Read again once listening: a change committed in between is in the inbox, and dropped if older.
        async with pool.acquire() as conn:
            job = await repo.job_by_id(conn, job_id=job_id) or job
        yield job
        while not job.is_finished:
            try:
                newer: repo.SolveJob | None = await asyncio.wait_for(inbox.get(), timeout=poll_s)
            except TimeoutError:
                async with pool.acquire() as conn:
                    newer = await repo.job_by_id(conn, job_id=job_id)
            if newer is None or newer.version <= job.version:
                continue
            if newer.is_finished:
                # The notification cuts long error texts; the final state is read whole.
                async with pool.acquire() as conn:
                    newer = await repo.job_by_id(conn, job_id=job_id) or newer
            job = newer
            yield job


__all__ = ["JobEvents", "events_for", "watch_job"]
