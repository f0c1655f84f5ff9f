"""solveProgress over a real graphql-transport-ws client against the ASGI app."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
from httpx_ws import AsyncWebSocketSession, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport

from server import db
from server.app import create_app
from server.jobs.worker import Worker
from server.settings import Settings
from tests.conftest import Caller, GraphQLClient, TestDatabase
from tests.jobs.conftest import CANCEL, FAST, job_row, long_problem, requested_job_id, until_progress

SUBSCRIBE = """
subscription($jobId: ID!, $rfqId: ID) {
  solveProgress(jobId: $jobId, rfqId: $rfqId) {
    id status version attempts error progress { objective bound gap elapsedS preset phase }
  }
}
"""


@contextlib.asynccontextmanager
async def connect(
    pool: db.Pool, settings: Settings, caller: Caller | None
) -> AsyncIterator[AsyncWebSocketSession]:
    """A graphql-transport-ws session, signed in through connection_init as a browser would."""
    app = create_app(settings, pool=pool)
    async with (
        ASGIWebSocketTransport(app=app) as transport,
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        session: contextlib.AbstractAsyncContextManager[AsyncWebSocketSession] = aconnect_ws(
            "/graphql", client, subprotocols=["graphql-transport-ws"]
        )
        async with session as ws:
            payload = {"authorization": f"Bearer {caller.token}"} if caller else {}
            await ws.send_json({"type": "connection_init", "payload": payload})
            assert (await ws.receive_json(timeout=10))["type"] == "connection_ack"
            yield ws


async def subscribe(ws: AsyncWebSocketSession, job_id: str, rfq_id: str | None = None) -> None:
    variables = {"jobId": job_id, "rfqId": rfq_id}
    await ws.send_json(
        {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE, "variables": variables}}
    )


async def stream(ws: AsyncWebSocketSession, *, timeout_s: float = 120) -> tuple[list[dict[str, Any]], str]:
    """The states sent until the server ends the operation, and how it ended (complete or error)."""
    states: list[dict[str, Any]] = []
    while True:
        message = await ws.receive_json(timeout=timeout_s)
        if message["type"] == "next":
            assert "errors" not in message["payload"], message
            states.append(message["payload"]["data"]["solveProgress"])
        elif message["type"] in ("complete", "error"):
            return states, message["type"]


async def first_error_code(ws: AsyncWebSocketSession) -> str:
    message = await ws.receive_json(timeout=30)
    errors = message["payload"] if message["type"] == "error" else message["payload"].get("errors")
    assert errors, message
    code: str = errors[0]["extensions"]["code"]
    return code


async def test_a_subscriber_sees_every_change_from_queued_to_succeeded(
    gql: GraphQLClient,
    pool: db.Pool,
    database: TestDatabase,
    settings: Settings,
    coordinator: Caller,
    rfq_id: str,
) -> None:
    job_id = await requested_job_id(gql, coordinator, rfq_id, presets=["CHEAPEST", "BALANCED"])
    async with connect(pool, settings, coordinator) as ws:
        await subscribe(ws, job_id, rfq_id)
        # the latest state comes first: the job waits for a worker
        first = await ws.receive_json(timeout=30)
        assert first["payload"]["data"]["solveProgress"]["status"] == "QUEUED"
        # when a worker runs it
        worker = Worker(pool, database.dsn, config=FAST)
        task = asyncio.create_task(worker.run())
        try:
            states, end = await stream(ws)
        finally:
            await worker.stop()
            await asyncio.wait_for(task, timeout=30)
    # then the stream showed it running, each improving solution of both presets, and its final status
    assert end == "complete"
    versions = [first["payload"]["data"]["solveProgress"]["version"]] + [s["version"] for s in states]
    assert versions == sorted(set(versions))
    assert states[0]["status"] == "RUNNING"
    assert states[-1]["status"] == "SUCCEEDED"
    progress = [s["progress"] for s in states if s["status"] == "RUNNING" and s["progress"]]
    assert {p["preset"] for p in progress} == {"cheapest", "balanced"}
    assert all(p["objective"] >= p["bound"] - 1e-6 for p in progress)
    assert states[-1]["version"] == (await job_row(pool, job_id)).version


async def test_a_late_subscriber_first_gets_the_latest_state(
    gql: GraphQLClient, pool: db.Pool, settings: Settings, coordinator: Caller, rfq_id: str, worker: Worker
) -> None:
    # given a long solve with progress already made
    job_id = await requested_job_id(gql, coordinator, rfq_id, problem=long_problem(), timeLimitS=600)
    await until_progress(pool, job_id)
    async with connect(pool, settings, coordinator) as ws:
        # when a coordinator subscribes only now
        await subscribe(ws, job_id)
        # then the first state sent is where the job stands, its latest progress included
        first = (await ws.receive_json(timeout=30))["payload"]["data"]["solveProgress"]
        assert first["status"] == "RUNNING"
        assert first["progress"] is not None
        assert first["progress"]["objective"] > 0
        # and after a cancel the stream ends with the final status
        body = await gql(CANCEL, {"id": job_id}, token=coordinator.token)
        assert body["data"]["jobCancel"]["errors"] == []
        states, end = await stream(ws)
    assert end == "complete"
    assert states[-1]["status"] == "CANCELLED"
    assert all(s["version"] > first["version"] for s in states)


async def test_a_subscriber_to_a_finished_job_gets_its_final_state_and_the_end(
    gql: GraphQLClient, pool: db.Pool, settings: Settings, coordinator: Caller, rfq_id: str
) -> None:
    job_id = await requested_job_id(gql, coordinator, rfq_id)
    await gql(CANCEL, {"id": job_id}, token=coordinator.token)
    async with connect(pool, settings, coordinator) as ws:
        await subscribe(ws, job_id)
        states, end = await stream(ws, timeout_s=30)
    assert [s["status"] for s in states] == ["CANCELLED"]
    assert end == "complete"


async def test_solve_progress_is_authorised_like_job(
    gql: GraphQLClient,
    pool: db.Pool,
    settings: Settings,
    coordinator: Caller,
    owner: Caller,
    buyer: Caller,
    rfq_id: str,
    other_rfq_id: str,
) -> None:
    job_id = await requested_job_id(gql, coordinator, rfq_id)
    for caller, job, rfq, code in (
        (owner, job_id, None, "FORBIDDEN"),
        (buyer, job_id, None, "FORBIDDEN"),
        (None, job_id, None, "UNAUTHENTICATED"),
        (coordinator, str(uuid.uuid4()), None, "NOT_FOUND"),
        (coordinator, "job-1", None, "NOT_FOUND"),
        (coordinator, job_id, other_rfq_id, "NOT_FOUND"),
    ):
        async with connect(pool, settings, caller) as ws:
            await subscribe(ws, job, rfq)
            assert await first_error_code(ws) == code, (caller, job, rfq)
