"""Proposals from solve jobs: stored once per job, approved once per RFQ, revised with a diff.

The solves here run in a real worker on a Problem given with the request whose ids are this database's
factories and work packages, as the Problem builder writes them; so this tests storage and review on their
own, whatever the builder decides.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any
from uuid import UUID

from server import db
from server.jobs.worker import Worker
from tests.bids.conftest import add_factory, package_ids
from tests.conftest import Caller, GraphQLClient, error_code, jst_today, make_factory_owner
from tests.jobs.conftest import until_status
from tests.proposals.conftest import Package, problem_over, shaft_rfq

REQUEST = """
mutation($rfq: ID!, $problem: JSON!) {
  proposalsRequest(input: {rfqId: $rfq, problem: $problem, timeLimitS: 10}) { job { id } errors { code } }
}
"""
PROPOSALS = """
query($rfq: ID!) {
  proposals(rfqId: $rfq) {
    id version rowVersion preset solverStatus reviewState totalCostJpy firmShare parentId
    members { id nameEn } lead { id }
    assignments { quantity estimated factory { id } package { id } weeklyHours { week hours } }
    costs { production total }
    diff { joined left moves { packageId factoryId before after } costDelta }
  }
}
"""
APPROVE = """
mutation($id: ID!, $v: Int!) {
  proposalApprove(id: $id, expectedVersion: $v) { proposal { reviewState rowVersion } errors { field code } }
}
"""
REVISE = """
mutation($id: ID!, $out: [ID!]!) {
  proposalRevise(id: $id, changes: {excluded: $out, timeLimitS: 10}) { job { id } errors { field code } }
}
"""


def _problem(factories: list[UUID], packages: list[Package], due: dt.date) -> dict[str, Any]:
    """Works i offers at 1000 + 100·i (only Works 0 firm), 300 h free a week."""
    return problem_over(
        factories,
        packages,
        due,
        unit_prices=[1000 + 100 * i for i in range(len(factories))],
        firm=[i == 0 for i in range(len(factories))],
        weekly_hours=300,
        policy={"preset": "cheapest", "coordination_cost": 1000},
    )


async def _world(gql: GraphQLClient, pool: db.Pool, buyer: Caller) -> tuple[str, dict[str, Any], list[UUID]]:
    owners = [await make_factory_owner(pool, f"works-owner{i}@koba.example") for i in range(2)]
    factories = [await add_factory(pool, o, name=f"Works {i}") for i, o in enumerate(owners)]
    rfq, packages = await shaft_rfq(gql, pool, buyer)
    assert [p[0] for p in packages] == await package_ids(pool, UUID(rfq))
    due = jst_today() + dt.timedelta(days=60)
    return rfq, _problem(factories, packages, due), factories


async def _solved(
    gql: GraphQLClient, pool: db.Pool, coordinator: Caller, rfq: str, problem: dict[str, Any]
) -> str:
    body = await gql(REQUEST, {"rfq": rfq, "problem": problem}, token=coordinator.token)
    job_id: str = body["data"]["proposalsRequest"]["job"]["id"]
    job = await until_status(pool, job_id, "succeeded", "failed")
    assert job.status == "succeeded", job.error
    return job_id


async def test_a_job_becomes_proposals_that_one_approval_settles(
    gql: GraphQLClient, pool: db.Pool, buyer: Caller, coordinator: Caller, owner: Caller, worker: Worker
) -> None:
    rfq, problem, factories = await _world(gql, pool, buyer)
    await _solved(gql, pool, coordinator, rfq, problem)
    (proposal,) = (await gql(PROPOSALS, {"rfq": rfq}, token=coordinator.token))["data"]["proposals"]
    assert (proposal["version"], proposal["solverStatus"], proposal["reviewState"]) == (1, "OPTIMAL", "DRAFT")
    # the cheapest member makes everything: 2 packages × 100 pieces × 1000 JPY
    assert [m["id"] for m in proposal["members"]] == [str(factories[0])]
    assert proposal["costs"]["production"] == 200_000
    assert proposal["firmShare"] == 1.0
    assert {a["quantity"] for a in proposal["assignments"]} == {100}
    assert all(a["weeklyHours"] for a in proposal["assignments"])
    # buyers and owners never see proposals
    for caller in (buyer, owner):
        assert error_code(await gql(PROPOSALS, {"rfq": rfq}, token=caller.token)) == "FORBIDDEN"
    # a stale version is refused; the current one wins, and the RFQ is PROPOSED
    stale = await gql(
        APPROVE, {"id": proposal["id"], "v": proposal["rowVersion"] + 1}, token=coordinator.token
    )
    assert stale["data"]["proposalApprove"]["errors"] == [{"field": "expectedVersion", "code": "CONFLICT"}]
    approved = await gql(
        APPROVE, {"id": proposal["id"], "v": proposal["rowVersion"]}, token=coordinator.token
    )
    assert approved["data"]["proposalApprove"]["proposal"]["reviewState"] == "APPROVED"
    status = await gql("query($id: ID!) { rfq(id: $id) { status } }", {"id": rfq}, token=buyer.token)
    assert status["data"]["rfq"]["status"] == "PROPOSED"


async def test_concurrent_approvals_one_wins(
    gql: GraphQLClient, pool: db.Pool, buyer: Caller, coordinator: Caller, worker: Worker
) -> None:
    rfq, problem, _ = await _world(gql, pool, buyer)
    await _solved(gql, pool, coordinator, rfq, problem)
    await _solved(gql, pool, coordinator, rfq, problem)
    first, second = (await gql(PROPOSALS, {"rfq": rfq}, token=coordinator.token))["data"]["proposals"]
    results = await asyncio.gather(
        *(
            gql(APPROVE, {"id": p["id"], "v": p["rowVersion"]}, token=coordinator.token)
            for p in (first, second)
        )
    )
    outcomes = sorted(
        "won"
        if r["data"]["proposalApprove"]["errors"] == []
        else r["data"]["proposalApprove"]["errors"][0]["code"]
        for r in results
    )
    assert outcomes == ["CONFLICT", "won"]


async def test_a_revision_without_a_member_is_the_next_version_with_a_diff(
    gql: GraphQLClient, pool: db.Pool, buyer: Caller, coordinator: Caller, worker: Worker
) -> None:
    rfq, problem, factories = await _world(gql, pool, buyer)
    await _solved(gql, pool, coordinator, rfq, problem)
    (first,) = (await gql(PROPOSALS, {"rfq": rfq}, token=coordinator.token))["data"]["proposals"]
    revised = await gql(REVISE, {"id": first["id"], "out": [str(factories[0])]}, token=coordinator.token)
    job_id = revised["data"]["proposalRevise"]["job"]["id"]
    assert (await until_status(pool, job_id, "succeeded", "failed")).status == "succeeded"
    _, second = (await gql(PROPOSALS, {"rfq": rfq}, token=coordinator.token))["data"]["proposals"]
    assert (second["version"], second["parentId"]) == (2, first["id"])
    assert [m["id"] for m in second["members"]] == [str(factories[1])]
    diff = second["diff"]
    assert (diff["joined"], diff["left"]) == ([str(factories[1])], [str(factories[0])])
    assert len(diff["moves"]) == 4  # two packages, each moving 100 pieces from one factory to the other
    assert diff["costDelta"]["production"] == 2 * 100 * 100  # 1100 instead of 1000 JPY a piece
    # estimated offers are marked as such
    assert second["firmShare"] == 0.0
    assert all(a["estimated"] for a in second["assignments"])
    # a factory that is not a candidate cannot be excluded
    bad = await gql(REVISE, {"id": first["id"], "out": [str(UUID(int=5))]}, token=coordinator.token)
    assert bad["data"]["proposalRevise"]["errors"] == [{"field": "excluded.0", "code": "NOT_FOUND"}]
