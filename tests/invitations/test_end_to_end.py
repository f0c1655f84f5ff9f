"""End to end over HTTP, after a proposal is approved (the proposals issue's flow): one member declines,
the repair solve keeps the accepted shares and replaces the decliner, the diff shows only the decliner's
share moved, the coordinator approves the repaired version, and only the new share is invited again."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from server import db
from server.jobs.worker import Worker
from tests.conftest import Caller, GraphQLClient
from tests.invitations.conftest import (
    ACCEPT,
    APPROVE,
    DECLINE,
    INVITATION,
    Consortium,
    approved,
    proposals,
)
from tests.jobs.conftest import until_status

OPEN = "query { openInvitations { edges { node { id proposalId status } } } }"


def _share(proposal: dict[str, Any], factory: str) -> dict[str, int]:
    return {
        a["package"]["id"]: a["quantity"] for a in proposal["assignments"] if a["factory"]["id"] == factory
    }


async def test_decline_repair_diff_and_approve_again(
    gql: GraphQLClient, pool: db.Pool, coordinator: Caller, consortium: Consortium, worker: Worker
) -> None:
    first = await approved(gql, pool, coordinator, consortium)
    invitations = {i["factory"]["id"]: i for i in first["invitations"]}
    # the dearest member declines (Works 2, whose prices are estimates); Works 3 is the spare
    decliner = max(invitations, key=lambda f: consortium.factories.index(UUID(f)))
    accepters = [f for f in invitations if f != decliner]
    # 1. every other member accepts; the decliner declines, with a reason
    for factory in accepters:
        body = await gql(ACCEPT, {"id": invitations[factory]["id"]}, token=consortium.owner_of(factory).token)
        assert body["data"]["invitationAccept"]["errors"] == []
    body = await gql(
        DECLINE,
        {"id": invitations[decliner]["id"], "reason": "Our anodizing line is down for maintenance."},
        token=consortium.owner_of(decliner).token,
    )
    assert body["data"]["invitationDecline"]["invitation"]["status"] == "DECLINED"
    # 2. the repair job, queued with the decline, is solved by the worker
    async with pool.acquire() as conn:
        job_id = await conn.fetchval(
            "SELECT job_id FROM proposal_revisions WHERE parent_proposal_id = $1", first["id"]
        )
    job = await until_status(pool, job_id, "succeeded", "failed", timeout_s=120)
    assert job.status == "succeeded", job.error
    repaired = next(p for p in await proposals(gql, coordinator, consortium) if p["parentId"] == first["id"])
    assert (repaired["version"], repaired["reviewState"]) == (2, "DRAFT")
    assert repaired["solverStatus"] in ("OPTIMAL", "FEASIBLE"), repaired
    # 3. the diff: the decliner left; every move is a piece of its share going to another factory
    diff = repaired["diff"]
    assert diff["left"] == [decliner]
    assert decliner not in {m["id"] for m in repaired["members"]}
    moved_from = {m["factoryId"] for m in diff["moves"] if m["after"] < m["before"]}
    assert moved_from == {decliner}
    assert {m["packageId"] for m in diff["moves"]} <= set(_share(first, decliner))
    assert not {m["factoryId"] for m in diff["moves"]} & set(accepters)
    for factory in accepters:
        assert _share(repaired, factory) == _share(first, factory)
    # 4. approve again: the accepted shares stay accepted, only the new share is invited
    body = await gql(APPROVE, {"id": repaired["id"], "v": repaired["rowVersion"]}, token=coordinator.token)
    assert body["data"]["proposalApprove"]["errors"] == [], body
    now = {p["id"]: p for p in await proposals(gql, coordinator, consortium)}
    assert now[first["id"]]["reviewState"] == "SUPERSEDED"
    assert now[repaired["id"]]["reviewState"] == "APPROVED"
    again = {i["factory"]["id"]: i for i in now[repaired["id"]]["invitations"]}
    assert set(again) == {m["id"] for m in repaired["members"]}
    for factory in accepters:
        assert again[factory]["status"] == "ACCEPTED"
        assert again[factory]["carriedFromId"] == invitations[factory]["id"]
        assert again[factory]["agreedPriceJpy"] == invitations[factory]["offeredPriceJpy"]
    newcomers = set(again) - set(accepters)
    assert newcomers == set(diff["joined"])
    assert newcomers
    for factory in newcomers:
        assert again[factory]["status"] == "PENDING"
        assert again[factory]["carriedFromId"] is None
        listed = (await gql(OPEN, token=consortium.owner_of(factory).token))["data"]["openInvitations"][
            "edges"
        ]
        assert [e["node"]["id"] for e in listed] == [again[factory]["id"]]
    # the decliner reads its invitation's story; it sees nothing of the repair's other shares
    seen = await gql(
        INVITATION, {"id": invitations[decliner]["id"]}, token=consortium.owner_of(decliner).token
    )
    events = seen["data"]["invitation"]["events"]
    assert [e["kind"] for e in events] == ["INVITATION_SENT", "INVITATION_DECLINED"]
    assert events[1]["payload"]["reason"] == "Our anodizing line is down for maintenance."
