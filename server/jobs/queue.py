"""pgqueuer, the queue that carries solve jobs to workers: enqueue and cancel inside the caller's transaction.

A queue row's payload is the ``solve_jobs`` id; everything else lives in ``solve_jobs``. pgqueuer's tables
come from ``migrations/0007_jobs.sql``.

Our pool decodes ``jsonb`` to Python values (:func:`server.db.create_pool`), while pgqueuer sends its
``jsonb`` parameters as JSON text, as on a plain connection; :func:`plain_jsonb` switches the codec off for
the duration of a pgqueuer call on one of our connections, so that its rows are what pgqueuer itself writes.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, cast
from uuid import UUID

from pgqueuer import AsyncpgDriver, Queries
from pgqueuer.models import JobId

from server.db import Connection

if TYPE_CHECKING:
    import asyncpg

ENTRYPOINT = "machikoba.solve"
"""pgqueuer entrypoint of solve jobs."""


@contextlib.asynccontextmanager
async def plain_jsonb(conn: Connection) -> AsyncIterator[Queries]:
    """pgqueuer's queries on ``conn`` (in its open transaction, if any), with ``jsonb`` as text meanwhile."""
    await conn.reset_type_codec("jsonb", schema="pg_catalog")
    try:
        yield Queries(AsyncpgDriver(cast("asyncpg.Connection", conn)))
    finally:
        await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def enqueue(conn: Connection, *, job_id: UUID) -> int:
    """Queue the solve job ``job_id``; returns pgqueuer's id. Commits or rolls back with the caller."""
    async with plain_jsonb(conn) as queries:
        (queue_job_id,) = await queries.enqueue(ENTRYPOINT, str(job_id).encode())
    return int(queue_job_id)


async def cancel(conn: Connection, *, queue_job_id: int) -> None:
    """Take a queued job off the queue (logged as ``canceled`` by pgqueuer). Commits with the caller."""
    async with plain_jsonb(conn) as queries:
        await queries.mark_job_as_cancelled([JobId(queue_job_id)])


def job_id_of(payload: bytes | None) -> UUID:
    """The ``solve_jobs`` id a queue row carries."""
    if payload is None:
        raise ValueError("a solve job's queue row has no payload")
    return UUID(payload.decode())
