"""Helpers for the solve job tests: an RFQ to solve, Problems of known size, a worker, and waiting."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import pytest

from server import db
from server.jobs import repo
from server.jobs.worker import WorkerConfig
from solver import problem_to_json
from solver.generate import generate_problem
from tests.conftest import TEST_WORKER, Caller, GraphQLClient
from tests.rfqs.conftest import submitted_id

T = TypeVar("T")

SMALL_PROBLEM = Path(__file__).resolve().parent.parent / "solver" / "data" / "problem.json"

JOB_FIELDS = """
  id rfqId status attempts version error cancelRequested createdAt startedAt finishedAt
  request { presets alternatives timeLimitS firmOnly }
  progress { objective bound gap elapsedS preset phase }
  solutions { rank preset status objective members }
"""
REQUEST = f"""
mutation($input: ProposalsRequestInput!) {{
  proposalsRequest(input: $input) {{ job {{ {JOB_FIELDS} }} errors {{ field code message }} }}
}}
"""
JOB = f"query($id: ID!, $rfqId: ID) {{ job(id: $id, rfqId: $rfqId) {{ {JOB_FIELDS} }} }}"
CANCEL = f"""
mutation($id: ID!) {{ jobCancel(id: $id) {{ job {{ {JOB_FIELDS} }} errors {{ field code message }} }} }}
"""

# The test worker (quick to notice cancels and dead peers), solving by the wall clock.
FAST = replace(TEST_WORKER, deterministic_solves=False)


def small_problem() -> dict[str, Any]:
    """Four factories, four packages: solved to optimality in well under a second."""
    data: dict[str, Any] = json.loads(SMALL_PROBLEM.read_text(encoding="utf-8"))
    return data


def long_problem() -> dict[str, Any]:
    """80 factories, 40 packages: improving solutions for several seconds, never proven optimal quickly."""
    return problem_to_json(generate_problem(80, 40, seed=7))


@pytest.fixture
async def rfq_id(gql: GraphQLClient, buyer: Caller) -> str:
    return await submitted_id(gql, buyer)


@pytest.fixture
async def other_rfq_id(gql: GraphQLClient, other_buyer: Caller) -> str:
    return await submitted_id(gql, other_buyer, title="Another buyer's parts")


async def request_job(gql: GraphQLClient, caller: Caller, rfq_id: str, **overrides: Any) -> dict[str, Any]:
    """``proposalsRequest`` with the small Problem unless ``problem`` is overridden; the payload."""
    payload: dict[str, Any] = {"rfqId": rfq_id, "problem": small_problem(), "timeLimitS": 10}
    payload.update(overrides)
    body = await gql(REQUEST, {"input": payload}, token=caller.token)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["proposalsRequest"]
    return result


async def requested_job_id(gql: GraphQLClient, caller: Caller, rfq_id: str, **overrides: Any) -> str:
    payload = await request_job(gql, caller, rfq_id, **overrides)
    assert payload["errors"] == [], payload["errors"]
    job_id: str = payload["job"]["id"]
    return job_id


async def job_row(pool: db.Pool, job_id: str | UUID) -> repo.SolveJob:
    async with pool.acquire() as conn:
        job = await repo.job_by_id(conn, job_id=UUID(str(job_id)))
    assert job is not None
    return job


async def eventually(check: Callable[[], Awaitable[T | None]], *, timeout_s: float = 60.0) -> T:
    """Poll ``check`` until it returns something; fail after ``timeout_s`` (a bound, not a speed claim)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = await check()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        await asyncio.sleep(0.1)


async def until_status(
    pool: db.Pool, job_id: str | UUID, *statuses: str, timeout_s: float = 60.0
) -> repo.SolveJob:
    async def check() -> repo.SolveJob | None:
        job = await job_row(pool, job_id)
        return job if job.status in statuses else None

    return await eventually(check, timeout_s=timeout_s)


async def until_progress(pool: db.Pool, job_id: str | UUID, *, timeout_s: float = 60.0) -> repo.SolveJob:
    async def check() -> repo.SolveJob | None:
        job = await job_row(pool, job_id)
        return job if job.status == "running" and job.objective is not None else None

    return await eventually(check, timeout_s=timeout_s)


async def counts(pool: db.Pool) -> dict[str, int]:
    """Rows in the job tables and in pgqueuer's queue."""
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            """
            SELECT (SELECT count(*) FROM solve_jobs) AS jobs,
                   (SELECT count(*) FROM solve_job_solutions) AS solutions,
                   (SELECT count(*) FROM pgqueuer) AS queue
            """
        )
    assert row is not None
    return {key: int(value) for key, value in row.items()}


async def until_queue_empty(pool: db.Pool) -> None:
    """pgqueuer removes a finished job's queue row when its log buffer flushes, soon after the job ends."""

    async def check() -> bool | None:
        return True if (await counts(pool))["queue"] == 0 else None

    await eventually(check, timeout_s=30)


@pytest.fixture
def worker_config() -> WorkerConfig:
    """The job tests stop, cancel and resume solves part-way by the wall clock: their worker solves by it."""
    return FAST
