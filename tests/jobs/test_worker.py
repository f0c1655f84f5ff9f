"""The worker: a real Problem solved in a child process, progress, results once, cancel, restart."""

from __future__ import annotations

import asyncio
import uuid

from server import db
from server.jobs import repo
from server.jobs.plugins import JobSolution, store_solutions
from server.jobs.worker import Worker, sweep_orphans
from solver import solution_from_json
from tests.conftest import Caller, GraphQLClient, TestDatabase
from tests.jobs.conftest import (
    CANCEL,
    FAST,
    JOB,
    counts,
    job_row,
    long_problem,
    requested_job_id,
    until_progress,
    until_queue_empty,
    until_status,
)


async def test_a_worker_solves_a_real_problem_with_progress_and_stores_each_solution(
    gql: GraphQLClient, pool: db.Pool, coordinator: Caller, rfq_id: str, worker: Worker
) -> None:
    # when a coordinator requests two presets and one alternative of the first
    job_id = await requested_job_id(
        gql, coordinator, rfq_id, presets=["CHEAPEST", "FASTEST"], alternatives=1, timeLimitS=20
    )
    await until_status(pool, job_id, "succeeded", "failed")
    # then the job succeeded in one attempt, with the last improving solution as its progress
    body = await gql(JOB, {"id": job_id}, token=coordinator.token)
    job = body["data"]["job"]
    assert job["status"] == "SUCCEEDED", job["error"]
    assert job["attempts"] == 1
    assert job["error"] is None
    assert job["finishedAt"] is not None
    progress = job["progress"]
    assert progress is not None
    assert progress["objective"] > 0
    assert progress["preset"] in ("cheapest", "fastest")
    assert 0 <= progress["gap"] <= 1
    # and it stored cheapest, its alternative, and fastest: the small Problem is solved to optimality
    solutions = job["solutions"]
    assert [(s["rank"], s["preset"], s["status"]) for s in solutions] == [
        (1, "CHEAPEST", "optimal"),
        (2, "CHEAPEST", "optimal"),
        (3, "FASTEST", "optimal"),
    ]
    assert solutions[0]["members"] == ["kamata-kensaku", "ota-seiki", "tsubame-press"]
    assert solutions[0]["members"] != solutions[1]["members"]
    # and the Problem it solved is kept for replay
    async with pool.acquire() as conn:
        solved = await repo.solved_problem(conn, job_id=uuid.UUID(job_id))
    assert solved is not None
    assert {f["id"] for f in solved["factories"]} >= set(solutions[0]["members"])
    # and pgqueuer's queue is empty again
    await until_queue_empty(pool)
    # and the worker has registered its sweep and the deadline task with pgqueuer's scheduler
    async with pool.acquire() as conn:
        schedules = await conn.fetch(
            "SELECT entrypoint, expression FROM pgqueuer_schedules ORDER BY entrypoint"
        )
    assert [(r["entrypoint"], r["expression"]) for r in schedules] == [
        ("machikoba.deadlines", "* * * * *"),
        ("machikoba.sweep_solve_jobs", "* * * * *"),
    ]


async def test_a_job_without_a_problem_is_built_from_the_database_and_fails_saying_why(
    gql: GraphQLClient, pool: db.Pool, coordinator: Caller, rfq_id: str, worker: Worker
) -> None:
    job_id = await requested_job_id(gql, coordinator, rfq_id, problem=None)
    job = await until_status(pool, job_id, "succeeded", "failed")
    assert job.status == "failed"
    assert job.error is not None
    # the worker builds the Problem from the RFQ (server/proposals/problem_builder.py): nobody has bid
    assert "have no offer" in job.error
    assert job.attempts == 1
    assert (await counts(pool))["solutions"] == 0


async def test_storing_the_results_twice_keeps_one_set(
    gql: GraphQLClient, pool: db.Pool, coordinator: Caller, rfq_id: str, worker: Worker
) -> None:
    job_id = await requested_job_id(gql, coordinator, rfq_id)
    await until_status(pool, job_id, "succeeded")
    async with pool.acquire() as conn:
        (stored,) = await repo.solutions_by_job_ids(conn, job_ids=[uuid.UUID(job_id)])
        again = [JobSolution(1, "fastest", solution_from_json(stored.solution))] * 2
        await store_solutions(conn, uuid.UUID(job_id), again)
    assert (await counts(pool))["solutions"] == 1
    # and running the finished job once more changes nothing
    await worker.run_job(uuid.UUID(job_id))
    job = await job_row(pool, job_id)
    assert (job.status, job.attempts) == ("succeeded", 1)


async def test_cancelling_a_queued_job_takes_it_off_the_queue(
    gql: GraphQLClient, pool: db.Pool, coordinator: Caller, rfq_id: str
) -> None:
    job_id = await requested_job_id(gql, coordinator, rfq_id)
    body = await gql(CANCEL, {"id": job_id}, token=coordinator.token)
    payload = body["data"]["jobCancel"]
    assert payload["errors"] == []
    assert payload["job"]["status"] == "CANCELLED"
    assert await counts(pool) == {"jobs": 1, "solutions": 0, "queue": 0}
    # and a finished job cannot be cancelled again
    body = await gql(CANCEL, {"id": job_id}, token=coordinator.token)
    assert [e["code"] for e in body["data"]["jobCancel"]["errors"]] == ["INVALID_STATE"]


async def test_cancelling_a_running_job_stops_its_solve(
    gql: GraphQLClient, pool: db.Pool, coordinator: Caller, rfq_id: str, worker: Worker
) -> None:
    # given a long solve that has found a first solution
    job_id = await requested_job_id(gql, coordinator, rfq_id, problem=long_problem(), timeLimitS=600)
    await until_progress(pool, job_id)
    # when a coordinator cancels it
    body = await gql(CANCEL, {"id": job_id}, token=coordinator.token)
    payload = body["data"]["jobCancel"]
    assert payload["errors"] == []
    assert payload["job"]["status"] == "RUNNING"
    assert payload["job"]["cancelRequested"] is True
    # then the worker stops the solve and marks it cancelled, storing nothing (long before its time limit)
    job = await until_status(pool, job_id, "cancelled", "succeeded", "failed", timeout_s=120)
    assert job.status == "cancelled"
    assert (await counts(pool))["solutions"] == 0


async def test_only_coordinators_cancel_jobs(
    gql: GraphQLClient, pool: db.Pool, coordinator: Caller, owner: Caller, buyer: Caller, rfq_id: str
) -> None:
    job_id = await requested_job_id(gql, coordinator, rfq_id)
    for caller, code in ((owner, "FORBIDDEN"), (buyer, "FORBIDDEN")):
        body = await gql(CANCEL, {"id": job_id}, token=caller.token)
        assert body["errors"][0]["extensions"]["code"] == code
    body = await gql(CANCEL, {"id": job_id})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    body = await gql(CANCEL, {"id": str(uuid.uuid4())}, token=coordinator.token)
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert (await job_row(pool, job_id)).status == "queued"


async def test_a_job_survives_a_worker_restart(
    gql: GraphQLClient, pool: db.Pool, database: TestDatabase, coordinator: Caller, rfq_id: str
) -> None:
    # given a worker in the middle of a solve
    first = Worker(pool, database.dsn, config=FAST)
    first_task = asyncio.create_task(first.run())
    job_id = await requested_job_id(gql, coordinator, rfq_id, problem=long_problem(), timeLimitS=6)
    await until_progress(pool, job_id)
    # when it is shut down (a server restart)
    await first.stop()
    await asyncio.wait_for(first_task, timeout=30)
    # then the job waits in the queue, its attempt given back
    job = await job_row(pool, job_id)
    assert (job.status, job.attempts) == ("queued", 0)
    assert (await counts(pool))["queue"] == 1
    # and the next worker runs it to the end
    second = Worker(pool, database.dsn, config=FAST)
    second_task = asyncio.create_task(second.run())
    try:
        job = await until_status(pool, job_id, "succeeded", "failed", timeout_s=120)
    finally:
        await second.stop()
        await asyncio.wait_for(second_task, timeout=30)
    assert (job.status, job.attempts) == ("succeeded", 1)
    assert (await counts(pool))["solutions"] == 1


async def test_a_job_that_lost_its_queue_row_is_swept_back_into_the_queue(
    gql: GraphQLClient, pool: db.Pool, coordinator: Caller, rfq_id: str
) -> None:
    # given a job left running without a queue row (its worker failed while the database was away)
    job_id = await requested_job_id(gql, coordinator, rfq_id)
    async with pool.acquire() as conn:
        await conn.execute("DELETE FROM pgqueuer")
        await conn.execute("UPDATE solve_jobs SET status = 'running', attempts = 1")
    # when the sweep runs (only jobs unchanged for a while qualify)
    assert await sweep_orphans(pool) == []
    assert await sweep_orphans(pool, quiet_for_s=0) == [uuid.UUID(job_id)]
    # then the job is queued under a new queue row, once
    job = await job_row(pool, job_id)
    assert (job.status, job.attempts) == ("queued", 1)
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT id FROM pgqueuer") == job.queue_job_id
    assert await sweep_orphans(pool, quiet_for_s=0) == []
