"""From RFQ to an approved proposal, over HTTP and graphql-transport-ws, on the demo data.

The demo's first RFQ is too large for any single factory and carries sealed bids from several factories
(``server/demo/bids.py``). A coordinator asks for cheapest + fastest + 2 alternatives, watches the solve,
revises one proposal without one of its members, gets the diff and approves; a second approval loses.
"""

from __future__ import annotations

import asyncio
from uuid import UUID

from server import db
from server.auth.principal import Principal, Role
from server.auth.service import principal_from_token
from server.demo.seed import DEMO_COORDINATOR_EMAIL, seed_demo
from server.jobs.worker import Worker
from server.settings import Settings
from tests.conftest import Caller, GraphQLClient, utc_now
from tests.jobs.conftest import until_status
from tests.jobs.test_subscription import connect, stream, subscribe

REQUEST = """
mutation($rfq: ID!) {
  proposalsRequest(input: {rfqId: $rfq, presets: [CHEAPEST, FASTEST], alternatives: 2, timeLimitS: 5}) {
    job { id } errors { field code message }
  }
}
"""
PROPOSALS = """
query($rfq: ID!) {
  proposals(rfqId: $rfq) {
    id version rowVersion preset rank solverStatus totalCostJpy members { id } parentId
    diff { joined left moves { packageId before after } costDelta }
  }
}
"""
APPROVE = """
mutation($id: ID!, $v: Int!) {
  proposalApprove(id: $id, expectedVersion: $v) { proposal { reviewState } errors { field code } }
}
"""


async def _demo_coordinator(gql: GraphQLClient, pool: db.Pool) -> Caller:
    body = await gql(
        "mutation($e: String!, $p: String!) { accountLogIn(input: {email: $e, password: $p}) { token } }",
        {"e": DEMO_COORDINATOR_EMAIL, "p": "machikoba-demo"},
    )
    token: str = body["data"]["accountLogIn"]["token"]
    principal: Principal = await principal_from_token(pool, f"Bearer {token}", now=utc_now())
    assert principal.role is Role.COORDINATOR
    return Caller(token, principal)


async def _replaceable_member(gql: GraphQLClient, coordinator: Caller, proposal_id: str) -> str:
    """A member whose every package has offers from other factories too: leaving it out keeps a consortium
    possible (the one with the most alternatives, so capacity is least likely to run out)."""
    body = await gql(
        "query($id: ID!) { proposal(id: $id) { problem assignments { factory { id } package { id } } } }",
        {"id": proposal_id},
        token=coordinator.token,
    )
    proposal = body["data"]["proposal"]
    offerers: dict[str, set[str]] = {}
    for offer in proposal["problem"]["offers"]:
        offerers.setdefault(offer["package"], set()).add(offer["factory"])
    packages_of: dict[str, set[str]] = {}
    for a in proposal["assignments"]:
        packages_of.setdefault(a["factory"]["id"], set()).add(a["package"]["id"])
    spare = {
        member: min(len(offerers[p] - {member}) for p in packages) for member, packages in packages_of.items()
    }
    member, others = max(spare.items(), key=lambda item: item[1])
    assert others >= 1, spare
    return member


async def _solved(gql: GraphQLClient, pool: db.Pool, job_id: str) -> None:
    job = await until_status(pool, job_id, "succeeded", "failed", timeout_s=180)
    assert job.status == "succeeded", job.error


async def test_rfq_to_approved_proposal(
    gql: GraphQLClient, pool: db.Pool, settings: Settings, worker: Worker
) -> None:
    await seed_demo(pool)
    coordinator = await _demo_coordinator(gql, pool)
    rfqs = await gql("{ rfqs(first: 10) { edges { node { id title } } } }", token=coordinator.token)
    demo = [e["node"] for e in rfqs["data"]["rfqs"]["edges"]]
    async with pool.acquire() as conn:
        rfq_id = str(
            await conn.fetchval(
                """
                SELECT r.id FROM rfqs r
                JOIN rfq_packages p ON p.rfq_id = r.id JOIN bids b ON b.package_id = p.id
                WHERE r.status = 'open'  -- the demo's award stages (server/demo/award.py) are past bidding
                GROUP BY r.id ORDER BY count(DISTINCT b.factory_id) DESC LIMIT 1
                """
            )
        )
        bidders = await conn.fetchval(
            "SELECT count(DISTINCT b.factory_id) FROM bids b JOIN rfq_packages p ON p.id = b.package_id "
            "WHERE p.rfq_id = $1",
            UUID(rfq_id),
        )
    assert rfq_id in {r["id"] for r in demo}
    assert bidders >= 6
    # 1. request cheapest + fastest + 2 alternatives, and watch the solve over a WebSocket
    body = await gql(REQUEST, {"rfq": rfq_id}, token=coordinator.token)
    assert body["data"]["proposalsRequest"]["errors"] == []
    job_id = body["data"]["proposalsRequest"]["job"]["id"]
    async with connect(pool, settings, coordinator) as ws:
        await subscribe(ws, job_id)
        states, ending = await stream(ws, timeout_s=180)
    assert ending == "complete"
    assert states[-1]["status"] == "SUCCEEDED"
    assert any(s["progress"] for s in states)
    proposals = (await gql(PROPOSALS, {"rfq": rfq_id}, token=coordinator.token))["data"]["proposals"]
    assert {p["preset"] for p in proposals} == {"cheapest", "fastest"}
    # the cheapest's alternatives are other member sets, when the search finds any in its share of the time
    assert 2 <= len(proposals) <= 4
    feasible = [p for p in proposals if p["solverStatus"] in ("OPTIMAL", "FEASIBLE")]
    assert feasible, proposals
    # no single factory can take the RFQ: every consortium has several members
    assert all(len(p["members"]) >= 2 for p in feasible)
    # 2. revise the cheapest without one of its members
    cheapest = min(feasible, key=lambda p: p["totalCostJpy"])
    left_out = await _replaceable_member(gql, coordinator, cheapest["id"])
    revise = await gql(
        "mutation($id: ID!, $out: ID!) { proposalRevise(id: $id, changes: {excluded: [$out], "
        "timeLimitS: 10}) { job { id } errors { field code } } }",
        {"id": cheapest["id"], "out": left_out},
        token=coordinator.token,
    )
    assert revise["data"]["proposalRevise"]["errors"] == []
    await _solved(gql, pool, revise["data"]["proposalRevise"]["job"]["id"])
    revised = [
        p
        for p in (await gql(PROPOSALS, {"rfq": rfq_id}, token=coordinator.token))["data"]["proposals"]
        if p["parentId"] == cheapest["id"]
    ]
    (child,) = revised
    assert child["version"] == 2
    assert child["solverStatus"] in ("OPTIMAL", "FEASIBLE"), child
    assert left_out in child["diff"]["left"]
    assert left_out not in {m["id"] for m in child["members"]}
    assert child["diff"]["costDelta"]["total"] == child["totalCostJpy"] - cheapest["totalCostJpy"]
    # 3. approve the revision; an approval of another proposal at the same time loses
    other = cheapest  # the first version, still a draft: approving both at once must not give two
    results = await asyncio.gather(
        gql(APPROVE, {"id": child["id"], "v": child["rowVersion"]}, token=coordinator.token),
        gql(APPROVE, {"id": other["id"], "v": other["rowVersion"]}, token=coordinator.token),
    )
    errors = sorted(r["data"]["proposalApprove"]["errors"] != [] for r in results)
    assert errors == [False, True]
    lost = next(r for r in results if r["data"]["proposalApprove"]["errors"])
    assert lost["data"]["proposalApprove"]["errors"][0]["code"] == "CONFLICT"
    status = await gql("query($id: ID!) { rfq(id: $id) { status } }", {"id": rfq_id}, token=coordinator.token)
    assert status["data"]["rfq"]["status"] == "PROPOSED"
