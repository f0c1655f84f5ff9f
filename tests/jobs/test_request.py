"""proposalsRequest: one transaction for the job and its queue row, typed errors, coordinators only."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from server import db
from server.jobs import queue, repo, service
from server.jobs.plugins import SolveRequest
from tests.conftest import Caller, GraphQLClient, error_code
from tests.jobs.conftest import JOB, REQUEST, counts, request_job, requested_job_id, small_problem


async def test_a_request_queues_the_job_and_its_queue_row_together(
    gql: GraphQLClient, pool: db.Pool, coordinator: Caller, rfq_id: str
) -> None:
    # when a coordinator asks for cheapest and fastest consortia with one alternative
    payload = await request_job(
        gql, coordinator, rfq_id, presets=["CHEAPEST", "FASTEST", "CHEAPEST"], alternatives=1
    )
    # then the job is queued with the request as given (the repeated preset once)
    assert payload["errors"] == []
    job = payload["job"]
    assert job["status"] == "QUEUED"
    assert job["rfqId"] == rfq_id
    assert job["request"] == {
        "presets": ["CHEAPEST", "FASTEST"],
        "alternatives": 1,
        "timeLimitS": 10,
        "firmOnly": False,
    }
    assert job["progress"] is None
    assert job["solutions"] == []
    # and pgqueuer holds one queued row that names the job
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT id, status::text, entrypoint, payload FROM pgqueuer")
        stored = await repo.job_by_id(conn, job_id=uuid.UUID(job["id"]))
    assert [(r["status"], r["entrypoint"], r["payload"]) for r in rows] == [
        ("queued", queue.ENTRYPOINT, job["id"].encode())
    ]
    assert stored is not None
    assert stored.queue_job_id == rows[0]["id"]
    assert stored.requested_by == coordinator.principal.user_id


async def test_a_failure_after_enqueue_leaves_neither_the_job_nor_its_queue_row(
    pool: db.Pool, coordinator: Caller, rfq_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a crash right after pgqueuer has queued the job, inside the request's transaction
    async def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("power cut")

    monkeypatch.setattr(repo, "set_queue_job_id", crash)
    request = SolveRequest(problem=small_problem())
    # when a coordinator requests a solve
    with pytest.raises(RuntimeError, match="power cut"):
        await service.request_solve(pool, coordinator.principal, rfq_id=uuid.UUID(rfq_id), request=request)
    # then nothing was written: no job, no queue row, no queue log
    assert await counts(pool) == {"jobs": 0, "solutions": 0, "queue": 0}
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM pgqueuer_log") == 0


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"rfqId": str(uuid.uuid4())}, "rfqId", "NOT_FOUND"),
        ({"rfqId": "not-an-id"}, "rfqId", "NOT_FOUND"),
        ({"presets": []}, "presets", "REQUIRED"),
        ({"timeLimitS": 0}, "timeLimitS", "OUT_OF_RANGE"),
        ({"timeLimitS": 100_000}, "timeLimitS", "OUT_OF_RANGE"),
        ({"alternatives": -1}, "alternatives", "OUT_OF_RANGE"),
        ({"alternatives": 9}, "alternatives", "OUT_OF_RANGE"),
        ({"policy": {"maxShare": 1.5}}, "policy.maxShare", "OUT_OF_RANGE"),
        ({"policy": {"maxMembers": 0}}, "policy.maxMembers", "OUT_OF_RANGE"),
        ({"policy": {"minMembers": 3, "maxMembers": 2}}, "policy.minMembers", "INVALID"),
        ({"policy": {"coordinationCost": -5}}, "policy.coordinationCost", "OUT_OF_RANGE"),
        ({"policy": {"pinned": ["ota-seiki"], "excluded": ["ota-seiki"]}}, "policy.excluded", "INVALID"),
        ({"policy": {"pinned": ["no-such-factory"]}}, "problem.policy.pinned", "INVALID"),
        ({"problem": {"factories": "many"}}, "problem.factories", "INVALID"),
        ({"problem": [1, 2]}, "problem", "INVALID"),
    ],
)
async def test_bad_input_is_a_payload_error_on_its_field_and_nothing_is_written(
    gql: GraphQLClient,
    pool: db.Pool,
    coordinator: Caller,
    rfq_id: str,
    overrides: dict[str, Any],
    field: str,
    code: str,
) -> None:
    payload = await request_job(gql, coordinator, rfq_id, **overrides)
    assert payload["job"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [(field, code)], payload["errors"]
    assert await counts(pool) == {"jobs": 0, "solutions": 0, "queue": 0}


async def test_a_cancelled_rfq_is_not_solved(
    gql: GraphQLClient, pool: db.Pool, coordinator: Caller, rfq_id: str
) -> None:
    body = await gql(
        "mutation($id: ID!) { rfqCancel(id: $id) { errors { code } } }",
        {"id": rfq_id},
        token=coordinator.token,
    )
    assert body["data"]["rfqCancel"]["errors"] == []
    payload = await request_job(gql, coordinator, rfq_id)
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("rfqId", "INVALID_STATE")]
    assert await counts(pool) == {"jobs": 0, "solutions": 0, "queue": 0}


# --- authorization ----------------------------------------------------------------------------------------


async def test_only_coordinators_request_solves(
    gql: GraphQLClient, pool: db.Pool, rfq_id: str, owner: Caller, buyer: Caller
) -> None:
    variables = {"input": {"rfqId": rfq_id, "problem": small_problem()}}
    assert error_code(await gql(REQUEST, variables, token=owner.token)) == "FORBIDDEN"
    assert error_code(await gql(REQUEST, variables, token=buyer.token)) == "FORBIDDEN"
    assert error_code(await gql(REQUEST, variables)) == "UNAUTHENTICATED"
    assert error_code(await gql(REQUEST, variables, token="mks_forged")) == "UNAUTHENTICATED"
    assert await counts(pool) == {"jobs": 0, "solutions": 0, "queue": 0}


async def test_job_is_for_coordinators_and_unknown_or_foreign_ids_are_not_found(
    gql: GraphQLClient, coordinator: Caller, owner: Caller, buyer: Caller, rfq_id: str, other_rfq_id: str
) -> None:
    job_id = await requested_job_id(gql, coordinator, rfq_id)
    # the coordinator reads it, alone or under its RFQ
    body = await gql(JOB, {"id": job_id}, token=coordinator.token)
    assert body["data"]["job"]["status"] == "QUEUED"
    body = await gql(JOB, {"id": job_id, "rfqId": rfq_id}, token=coordinator.token)
    assert body["data"]["job"]["id"] == job_id
    # under another RFQ, as an unknown or malformed id: NOT_FOUND
    assert error_code(await gql(JOB, {"id": job_id, "rfqId": other_rfq_id}, token=coordinator.token)) == (
        "NOT_FOUND"
    )
    assert error_code(await gql(JOB, {"id": str(uuid.uuid4())}, token=coordinator.token)) == "NOT_FOUND"
    assert error_code(await gql(JOB, {"id": "job-1"}, token=coordinator.token)) == "NOT_FOUND"
    # owners, buyers (even the RFQ's own) and anonymous callers never see jobs
    assert error_code(await gql(JOB, {"id": job_id}, token=owner.token)) == "FORBIDDEN"
    assert error_code(await gql(JOB, {"id": job_id}, token=buyer.token)) == "FORBIDDEN"
    assert error_code(await gql(JOB, {"id": job_id})) == "UNAUTHENTICATED"
