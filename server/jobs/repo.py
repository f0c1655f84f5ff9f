"""SQL for solve jobs: the ``solve_jobs`` rows, their notifications, and the default solution store.

Every change of a job row bumps its ``version`` and sends the new state on :data:`CHANNEL` in the same
transaction (PostgreSQL delivers the notification at commit, so listeners never see uncommitted states).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from server.db import Connection

CHANNEL = "machikoba_solve_jobs"
"""The NOTIFY channel on which every job change is announced (payload: :func:`event_payload`)."""

TERMINAL = ("succeeded", "failed", "cancelled")
"""Statuses a job never leaves."""

# NOTIFY payloads must stay below 8000 bytes: the error text is cut in the event (the row has all of it).
_EVENT_ERROR_CHARS = 2000


@dataclass(frozen=True)
class SolveJob:
    """One ``solve_jobs`` row, without its Problem, which may be megabytes (:func:`problem_text` reads it)."""

    id: UUID
    rfq_id: UUID
    requested_by: UUID
    request: dict[str, Any]
    status: str
    queue_job_id: int | None
    attempts: int
    version: int
    objective: float | None
    bound: float | None
    gap: float | None
    elapsed_s: float | None
    preset: str | None
    phase: str | None
    error: str | None
    cancel_requested_at: dt.datetime | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    updated_at: dt.datetime

    @property
    def is_finished(self) -> bool:
        return self.status in TERMINAL


@dataclass(frozen=True)
class StoredSolution:
    """One solution a finished job stored (``solve_job_solutions``)."""

    job_id: UUID
    rank: int
    preset: str
    solution: dict[str, Any]


_COLUMNS = """
    id, rfq_id, requested_by, request, status, queue_job_id, attempts, version, objective, bound, gap,
    elapsed_s, preset, phase, error, cancel_requested_at, created_at, started_at, finished_at, updated_at
"""

_TIMESTAMPS = ("cancel_requested_at", "created_at", "started_at", "finished_at", "updated_at")


def _job(row: Any) -> SolveJob:
    return SolveJob(**dict(row))


def event_payload(job: SolveJob) -> str:
    """The job's state as the JSON text of its notification (the request without any inline Problem)."""
    data: dict[str, Any] = {
        "id": str(job.id),
        "rfq_id": str(job.rfq_id),
        "requested_by": str(job.requested_by),
        "request": job.request,
        "status": job.status,
        "queue_job_id": job.queue_job_id,
        "attempts": job.attempts,
        "version": job.version,
        "objective": job.objective,
        "bound": job.bound,
        "gap": job.gap,
        "elapsed_s": job.elapsed_s,
        "preset": job.preset,
        "phase": job.phase,
        "error": job.error[:_EVENT_ERROR_CHARS] if job.error is not None else None,
    }
    for name in _TIMESTAMPS:
        value: dt.datetime | None = getattr(job, name)
        data[name] = value.isoformat() if value is not None else None
    return json.dumps(data, separators=(",", ":"))


def job_from_event(payload: str) -> SolveJob:
    """The job state a notification carries (the inverse of :func:`event_payload`)."""
    data = json.loads(payload)
    for name in _TIMESTAMPS:
        data[name] = dt.datetime.fromisoformat(data[name]) if data[name] is not None else None
    for name in ("id", "rfq_id", "requested_by"):
        data[name] = UUID(data[name])
    return SolveJob(**data)


async def _notify(conn: Connection, job: SolveJob) -> SolveJob:
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, event_payload(job))
    return job


async def insert_job(
    conn: Connection,
    *,
    rfq_id: UUID,
    requested_by: UUID,
    request: dict[str, Any],
    problem_json: str | None = None,
) -> SolveJob:
    """A queued job; ``problem_json`` is a Problem given with the request, as JSON text."""
    row = await conn.fetchrow(
        f"""
        INSERT INTO solve_jobs (rfq_id, requested_by, request, problem) VALUES ($1, $2, $3, $4::text::jsonb)
        RETURNING {_COLUMNS}
        """,
        rfq_id,
        requested_by,
        request,
        problem_json,
    )
    return await _notify(conn, _job(row))


async def set_queue_job_id(conn: Connection, *, job_id: UUID, queue_job_id: int) -> None:
    """Remember pgqueuer's id of the job's queue row (no notification: nothing a watcher sees changed)."""
    await conn.execute("UPDATE solve_jobs SET queue_job_id = $2 WHERE id = $1", job_id, queue_job_id)


async def job_by_id(conn: Connection, *, job_id: UUID) -> SolveJob | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM solve_jobs WHERE id = $1", job_id)
    return _job(row) if row is not None else None


async def job_for_update(conn: Connection, *, job_id: UUID) -> SolveJob | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM solve_jobs WHERE id = $1 FOR UPDATE", job_id)
    return _job(row) if row is not None else None


async def start_attempt(conn: Connection, *, job_id: UUID) -> SolveJob:
    """Mark the job running under a new attempt (the caller holds the row lock)."""
    row = await conn.fetchrow(
        f"""
        UPDATE solve_jobs
        SET status = 'running', attempts = attempts + 1, version = version + 1,
            started_at = now(), updated_at = now()
        WHERE id = $1
        RETURNING {_COLUMNS}
        """,
        job_id,
    )
    return await _notify(conn, _job(row))


async def finish(conn: Connection, *, job_id: UUID, status: str, error: str | None = None) -> SolveJob:
    """Give the job its final status (the caller holds the row lock and checked it is not final yet)."""
    assert status in TERMINAL
    row = await conn.fetchrow(
        f"""
        UPDATE solve_jobs
        SET status = $2, error = $3, finished_at = now(), updated_at = now(), version = version + 1
        WHERE id = $1
        RETURNING {_COLUMNS}
        """,
        job_id,
        status,
        error,
    )
    return await _notify(conn, _job(row))


async def requeue(conn: Connection, *, job_id: UUID, attempt: int, error: str | None) -> SolveJob | None:
    """Put a running attempt back to ``queued`` (a worker stopping, or a failure worth retrying).

    A worker that was shut down (``error`` None) gives its attempt back, so that restarts never use up the
    attempts a job has. Only the attempt that is current may do it; None when another one has taken over.
    """
    row = await conn.fetchrow(
        f"""
        UPDATE solve_jobs
        SET status = 'queued', error = $3, version = version + 1, updated_at = now(),
            attempts = CASE WHEN $3::text IS NULL THEN attempts - 1 ELSE attempts END
        WHERE id = $1 AND status = 'running' AND attempts = $2
        RETURNING {_COLUMNS}
        """,
        job_id,
        attempt,
        error,
    )
    return await _notify(conn, _job(row)) if row is not None else None


async def record_progress(
    conn: Connection,
    *,
    job_id: UUID,
    attempt: int,
    objective: float,
    bound: float,
    gap: float,
    elapsed_s: float,
    preset: str,
    phase: str,
) -> SolveJob | None:
    """Store the latest improving solution of the current attempt; None when the attempt is not current."""
    row = await conn.fetchrow(
        f"""
        UPDATE solve_jobs
        SET objective = $3, bound = $4, gap = $5, elapsed_s = $6, preset = $7, phase = $8,
            version = version + 1, updated_at = now()
        WHERE id = $1 AND status = 'running' AND attempts = $2
        RETURNING {_COLUMNS}
        """,
        job_id,
        attempt,
        objective,
        bound,
        gap,
        elapsed_s,
        preset,
        phase,
    )
    return await _notify(conn, _job(row)) if row is not None else None


async def request_cancel(conn: Connection, *, job_id: UUID) -> SolveJob:
    """Ask the worker running the job to stop (the caller holds the row lock)."""
    row = await conn.fetchrow(
        f"""
        UPDATE solve_jobs
        SET cancel_requested_at = coalesce(cancel_requested_at, now()), version = version + 1,
            updated_at = now()
        WHERE id = $1
        RETURNING {_COLUMNS}
        """,
        job_id,
    )
    return await _notify(conn, _job(row))


async def orphaned_jobs(conn: Connection, *, quiet_for_s: float) -> list[SolveJob]:
    """Unfinished jobs without a queue row, unchanged for ``quiet_for_s`` seconds, locked for the caller
    (rows another sweeper holds are skipped)."""
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM solve_jobs j
        WHERE status IN ('queued', 'running')
          AND updated_at < now() - make_interval(secs => $1)
          AND NOT EXISTS (SELECT 1 FROM pgqueuer q WHERE q.id = j.queue_job_id)
        ORDER BY created_at
        FOR UPDATE SKIP LOCKED
        """,
        quiet_for_s,
    )
    return [_job(r) for r in rows]


async def back_to_queued(conn: Connection, *, job_id: UUID, queue_job_id: int) -> SolveJob:
    """An orphaned job queued again under a new queue row (the caller holds the row lock)."""
    row = await conn.fetchrow(
        f"""
        UPDATE solve_jobs
        SET status = 'queued', queue_job_id = $2, version = version + 1, updated_at = now()
        WHERE id = $1
        RETURNING {_COLUMNS}
        """,
        job_id,
        queue_job_id,
    )
    return await _notify(conn, _job(row))


async def attempt_state(conn: Connection, *, job_id: UUID) -> tuple[str, int, bool] | None:
    """``(status, attempts, cancel requested)``: what a worker polls during a solve."""
    row = await conn.fetchrow(
        "SELECT status, attempts, cancel_requested_at IS NOT NULL AS cancel FROM solve_jobs WHERE id = $1",
        job_id,
    )
    return (row["status"], row["attempts"], row["cancel"]) if row is not None else None


async def save_problem(conn: Connection, *, job_id: UUID, problem_json: str) -> None:
    """Keep the Problem the worker solves, as JSON text (a large one is encoded off the event loop)."""
    await conn.execute("UPDATE solve_jobs SET problem = $2::text::jsonb WHERE id = $1", job_id, problem_json)


async def problem_text(conn: Connection, *, job_id: UUID) -> str | None:
    """The job's Problem as JSON text: the one given with the request, then the one its worker solved."""
    value: str | None = await conn.fetchval("SELECT problem::text FROM solve_jobs WHERE id = $1", job_id)
    return value


async def solved_problem(conn: Connection, *, job_id: UUID) -> dict[str, Any] | None:
    """The Problem JSON a worker solved for the job (None before a worker built it)."""
    value: dict[str, Any] | None = await conn.fetchval("SELECT problem FROM solve_jobs WHERE id = $1", job_id)
    return value


async def insert_solutions(
    conn: Connection, *, job_id: UUID, solutions: list[tuple[str, dict[str, Any]]]
) -> int:
    """Store the job's solutions as ranks 1, 2 …; a job that has some already keeps them. Returns the number
    of rows written (0 when the job had stored its solutions before)."""
    result = await conn.execute(
        """
        INSERT INTO solve_job_solutions (job_id, rank, preset, solution)
        SELECT $1, rank, preset, solution
        FROM unnest($2::text[], $3::jsonb[]) WITH ORDINALITY AS s(preset, solution, rank)
        WHERE NOT EXISTS (SELECT 1 FROM solve_job_solutions WHERE job_id = $1)
        ON CONFLICT (job_id, rank) DO NOTHING
        """,
        job_id,
        [preset for preset, _ in solutions],
        [solution for _, solution in solutions],
    )
    return int(result.split()[-1])


async def solutions_by_job_ids(conn: Connection, *, job_ids: list[UUID]) -> list[StoredSolution]:
    rows = await conn.fetch(
        """
        SELECT job_id, rank, preset, solution FROM solve_job_solutions
        WHERE job_id = ANY($1) ORDER BY job_id, rank
        """,
        job_ids,
    )
    return [StoredSolution(**dict(r)) for r in rows]
