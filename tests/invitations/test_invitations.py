"""Invitations from an approved proposal: who sees them, accepting (with estimated prices), declining, the
answer deadline, the price confirmation, and what a factory owner reads of the event log."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any
from uuid import UUID

import pytest

from server import db
from server.clock import end_of_day_jst
from server.errors import ValidationFailed
from server.invitations import answers
from server.invitations.working_days import default_answer_day
from server.jobs.worker import Worker
from tests.conftest import Caller, GraphQLClient, error_code, jst_today
from tests.invitations.conftest import (
    ACCEPT,
    DECLINE,
    ESTIMATED,
    INVITATION,
    PRICES,
    Consortium,
    approved,
    proposals,
)

OPEN = "query { openInvitations(first: 10) { totalCount edges { node { id status } } } }"
CONFIRM = """
mutation($id: ID!) {
  proposalConfirmPrices(id: $id) { proposal { priceConfirmationRequired } errors { code } }
}
"""


def _by_factory(proposal: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["factory"]["id"]: i for i in proposal["invitations"]}


async def test_approval_invites_every_member_with_its_priced_share(
    gql: GraphQLClient, pool: db.Pool, coordinator: Caller, consortium: Consortium, worker: Worker
) -> None:
    proposal = await approved(gql, pool, coordinator, consortium)
    members = {m["id"] for m in proposal["members"]}
    assert len(members) == 3  # max_share 0.4: the three cheapest
    invitations = _by_factory(proposal)
    assert set(invitations) == members
    assert all(i["status"] == "PENDING" for i in invitations.values())
    # default deadline: the end of the third working day (JST) after today
    expected = end_of_day_jst(default_answer_day(jst_today()))
    assert dt.datetime.fromisoformat(proposal["answerBy"]) == expected
    # each share priced from the Problem: Σ quantity × unit price + setup; estimated for Works 2 only
    for factory, invitation in invitations.items():
        i = consortium.factories.index(UUID(factory))
        mine = [a for a in proposal["assignments"] if a["factory"]["id"] == factory]
        assert invitation["offeredPriceJpy"] == sum(a["quantity"] * PRICES[i] + 5000 for a in mine)
        assert invitation["estimated"] is (i == ESTIMATED)
    # the owner sees its invitation, lines and the `invitation.sent` event; lists it among its open ones
    factory = next(iter(invitations))
    owner = consortium.owner_of(factory)
    body = await gql(INVITATION, {"id": invitations[factory]["id"]}, token=owner.token)
    seen = body["data"]["invitation"]
    assert seen["factory"]["id"] == factory
    assert {line["package"]["id"] for line in seen["lines"]} <= {str(p) for p in consortium.packages}
    assert [e["kind"] for e in seen["events"]] == ["INVITATION_SENT"]
    assert seen["events"][0]["payload"]["invitation"] == invitations[factory]["id"]
    listed = (await gql(OPEN, token=owner.token))["data"]["openInvitations"]
    assert listed["totalCount"] == 1
    assert [e["node"]["id"] for e in listed["edges"]] == [invitations[factory]["id"]]


async def test_only_the_owner_and_coordinators_see_an_invitation(
    gql: GraphQLClient,
    pool: db.Pool,
    coordinator: Caller,
    buyer: Caller,
    consortium: Consortium,
    worker: Worker,
) -> None:
    proposal = await approved(gql, pool, coordinator, consortium)
    invitation = proposal["invitations"][0]
    owner = consortium.owner_of(invitation["factory"]["id"])
    other = next(o for o in consortium.owners if o is not owner)
    variables = {"id": invitation["id"]}
    assert (await gql(INVITATION, variables, token=owner.token))["data"]["invitation"]["id"] == invitation[
        "id"
    ]
    assert (await gql(INVITATION, variables, token=coordinator.token))["data"]["invitation"]["id"]
    assert error_code(await gql(INVITATION, variables, token=other.token)) == "NOT_FOUND"
    assert error_code(await gql(INVITATION, variables, token=buyer.token)) == "FORBIDDEN"
    assert error_code(await gql(INVITATION, variables)) == "UNAUTHENTICATED"
    # answering: another owner's is NOT_FOUND, a coordinator's FORBIDDEN (visible, not theirs)
    assert (await gql(ACCEPT, variables, token=other.token))["data"]["invitationAccept"]["errors"][0][
        "code"
    ] == "NOT_FOUND"
    assert (await gql(DECLINE, {**variables, "reason": "no"}, token=coordinator.token))["data"][
        "invitationDecline"
    ]["errors"][0]["code"] == "FORBIDDEN"
    still = (await gql(INVITATION, variables, token=owner.token))["data"]["invitation"]
    assert still["status"] == "PENDING"
    # owners list only their own open invitations
    listed = (await gql(OPEN, token=other.token))["data"]["openInvitations"]
    assert invitation["id"] not in {e["node"]["id"] for e in listed["edges"]}


async def test_accepting_estimated_prices_and_the_coordinators_confirmation(
    gql: GraphQLClient, pool: db.Pool, coordinator: Caller, consortium: Consortium, worker: Worker
) -> None:
    proposal = await approved(gql, pool, coordinator, consortium)
    invitations = _by_factory(proposal)
    firm = invitations[str(consortium.factories[0])]
    estimated = invitations[str(consortium.factories[ESTIMATED])]
    firm_owner = consortium.owner_of(consortium.factories[0])
    estimated_owner = consortium.owner_of(consortium.factories[ESTIMATED])
    package = str(consortium.packages[0])
    # a firm bid's price is not adjusted here
    refused = await gql(
        ACCEPT,
        {"id": firm["id"], "prices": [{"packageId": package, "unitPriceJpy": 1}]},
        token=firm_owner.token,
    )
    assert refused["data"]["invitationAccept"]["errors"][0]["code"] == "INVALID"
    # the firm share at its bid: agreed = offered, no confirmation needed
    body = await gql(ACCEPT, {"id": firm["id"]}, token=firm_owner.token)
    accepted = body["data"]["invitationAccept"]["invitation"]
    assert (accepted["status"], accepted["agreedPriceJpy"]) == ("ACCEPTED", firm["offeredPriceJpy"])
    again = await gql(ACCEPT, {"id": firm["id"]}, token=firm_owner.token)
    assert again["data"]["invitationAccept"]["errors"][0]["code"] == "INVALID_STATE"
    # the estimated share, its unit prices raised by half: beyond the 5 % tolerance of the proposal's total
    lines = (await gql(INVITATION, {"id": estimated["id"]}, token=estimated_owner.token))["data"][
        "invitation"
    ]["lines"]
    raised = [
        {"packageId": line["package"]["id"], "unitPriceJpy": line["unitPriceJpy"] * 3 // 2} for line in lines
    ]
    body = await gql(ACCEPT, {"id": estimated["id"], "prices": raised}, token=estimated_owner.token)
    assert body["data"]["invitationAccept"]["errors"] == []
    agreed = body["data"]["invitationAccept"]["invitation"]["agreedPriceJpy"]
    assert agreed == sum(
        line["quantity"] * (line["unitPriceJpy"] * 3 // 2) + line["setupCostJpy"] for line in lines
    )
    (now,) = await proposals(gql, coordinator, consortium)
    assert now["priceConfirmationRequired"] is True
    # a coordinator confirms the new total once
    confirmed = await gql(CONFIRM, {"id": now["id"]}, token=coordinator.token)
    assert confirmed["data"]["proposalConfirmPrices"]["proposal"]["priceConfirmationRequired"] is False
    twice = await gql(CONFIRM, {"id": now["id"]}, token=coordinator.token)
    assert twice["data"]["proposalConfirmPrices"]["errors"][0]["code"] == "INVALID_STATE"
    owner_events = (await gql(INVITATION, {"id": estimated["id"]}, token=estimated_owner.token))["data"][
        "invitation"
    ]["events"]
    assert [e["kind"] for e in owner_events] == ["INVITATION_SENT", "INVITATION_ACCEPTED"]


async def test_an_answer_after_the_deadline_is_refused(
    gql: GraphQLClient, pool: db.Pool, coordinator: Caller, consortium: Consortium, worker: Worker
) -> None:
    today = jst_today()
    proposal = await approved(gql, pool, coordinator, consortium, by=today)
    assert dt.datetime.fromisoformat(proposal["answerBy"]) == end_of_day_jst(today)
    invitation = proposal["invitations"][0]
    owner = consortium.owner_of(invitation["factory"]["id"])
    late = end_of_day_jst(today) + dt.timedelta(seconds=1)
    with pytest.raises(ValidationFailed) as accepting:
        await answers.accept_invitation(
            pool, owner.principal, invitation_id=UUID(invitation["id"]), now=late, price_tolerance_pct=5
        )
    with pytest.raises(ValidationFailed) as declining:
        await answers.decline_invitation(
            pool, owner.principal, invitation_id=UUID(invitation["id"]), reason="too late", now=late
        )
    for refused in (accepting.value, declining.value):
        assert [e.code.code for e in refused.errors] == ["ANSWER_DEADLINE_PASSED"]
    async with pool.acquire() as conn:
        assert (
            await conn.fetchval("SELECT status FROM invitations WHERE id = $1", UUID(invitation["id"]))
            == "pending"
        )
    # a deadline before today is refused at approval
    past = await gql(
        'mutation($id: ID!) { proposalApprove(id: $id, expectedVersion: 1, answerBy: "2001-01-01") '
        "{ errors { field code } } }",
        {"id": proposal["id"]},
        token=coordinator.token,
    )
    assert past["data"]["proposalApprove"]["errors"] == [{"field": "answerBy", "code": "DATE_IN_PAST"}]


async def test_two_declines_at_once_each_queue_a_repair_and_the_later_excludes_both(
    gql: GraphQLClient, pool: db.Pool, coordinator: Caller, consortium: Consortium, worker: Worker
) -> None:
    proposal = await approved(gql, pool, coordinator, consortium)
    a, b, *_ = proposal["invitations"]
    results = await asyncio.gather(
        *(
            gql(
                DECLINE,
                {"id": i["id"], "reason": "busy"},
                token=consortium.owner_of(i["factory"]["id"]).token,
            )
            for i in (a, b)
        )
    )
    assert [r["data"]["invitationDecline"]["errors"] for r in results] == [[], []]
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            """
            SELECT changes FROM proposal_revisions WHERE parent_proposal_id = $1
            """,
            UUID(proposal["id"]),
        )
    # the declines ran one after the other (the RFQ's lock): the second's repair saw the first decline
    first, second = sorted((r["changes"]["repair"]["excluded"] for r in rows), key=len)
    both = sorted([a["factory"]["id"], b["factory"]["id"]])
    assert second == both
    assert len(first) == 1
    assert first[0] in both
