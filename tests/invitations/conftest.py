"""A consortium to invite: four factory owners, an RFQ of two work packages, a solved proposal.

The solve runs in a real worker on a Problem given with the request whose ids are this database's factories
and packages (as the Problem builder writes them), so the invitations are tested whatever the builder
decides. ``max_share`` 0.4 makes the cheapest consortium three members (Works 0, 1, 2); Works 3, the
dearest, is the spare a repair can bring in. Works 2's prices are estimates (it did not bid).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import pytest

from server import db
from tests.bids.conftest import add_factory
from tests.conftest import Caller, GraphQLClient, jst_today, make_factory_owner
from tests.jobs.conftest import until_status
from tests.proposals.conftest import Package, problem_over, shaft_rfq

PRICES = (1000, 1100, 1200, 1300)
ESTIMATED = 2  # Works 2 did not bid: its prices are estimates

REQUEST = """
mutation($rfq: ID!, $problem: JSON!) {
  proposalsRequest(input: {rfqId: $rfq, problem: $problem, timeLimitS: 20}) { job { id } errors { code } }
}
"""
PROPOSALS = """
query($rfq: ID!) {
  proposals(rfqId: $rfq) {
    id version rowVersion reviewState solverStatus parentId totalCostJpy priceConfirmationRequired answerBy
    members { id }
    assignments { quantity factory { id } package { id } }
    diff { joined left moves { packageId factoryId before after } }
    invitations { id status factory { id } carriedFromId offeredPriceJpy agreedPriceJpy estimated }
  }
}
"""
APPROVE = """
mutation($id: ID!, $v: Int!, $by: Date) {
  proposalApprove(id: $id, expectedVersion: $v, answerBy: $by) {
    proposal { reviewState rowVersion answerBy } errors { field code }
  }
}
"""
ACCEPT = """
mutation($id: ID!, $prices: [UnitPriceInput!]! = []) {
  invitationAccept(id: $id, input: {unitPrices: $prices}) {
    invitation { id status agreedPriceJpy offeredPriceJpy } errors { field code message }
  }
}
"""
DECLINE = """
mutation($id: ID!, $reason: String!) {
  invitationDecline(id: $id, reason: $reason) { invitation { id status declineReason } errors { field code } }
}
"""
INVITATION = """
query($id: ID!) {
  invitation(id: $id) {
    id status estimated offeredPriceJpy answerBy factory { id }
    lines {
      quantity unitPriceJpy setupCostJpy estimated agreedUnitPriceJpy package { id } weeklyHours { week }
    }
    events { kind actor payload }
  }
}
"""


@dataclass
class Consortium:
    """The world of these tests: the RFQ, its Problem, the factories and their owners (same order)."""

    rfq: str
    problem: dict[str, Any]
    factories: list[UUID]
    owners: list[Caller]
    packages: list[UUID]

    def owner_of(self, factory_id: str | UUID) -> Caller:
        return self.owners[self.factories.index(UUID(str(factory_id)))]


def consortium_problem(factories: list[UUID], packages: list[Package], due: dt.date) -> dict[str, Any]:
    """Works i offers at ``PRICES[i]``, 40 h free a week; at most 40 % of a package per member."""
    return problem_over(
        factories,
        packages,
        due,
        unit_prices=PRICES,
        firm=[i != ESTIMATED for i in range(len(factories))],
        weekly_hours=40,
        policy={"preset": "cheapest", "coordination_cost": 1000, "max_share": 0.4},
    )


@pytest.fixture
async def consortium(gql: GraphQLClient, pool: db.Pool, buyer: Caller) -> Consortium:
    owners = [await make_factory_owner(pool, f"member{i}@koba.example") for i in range(len(PRICES))]
    factories = [await add_factory(pool, o, name=f"Works {i}") for i, o in enumerate(owners)]
    rfq, packages = await shaft_rfq(gql, pool, buyer)
    due = jst_today() + dt.timedelta(days=60)
    return Consortium(
        rfq, consortium_problem(factories, packages, due), factories, owners, [p[0] for p in packages]
    )


async def solved(gql: GraphQLClient, pool: db.Pool, coordinator: Caller, world: Consortium) -> None:
    body = await gql(REQUEST, {"rfq": world.rfq, "problem": world.problem}, token=coordinator.token)
    job_id: str = body["data"]["proposalsRequest"]["job"]["id"]
    job = await until_status(pool, job_id, "succeeded", "failed", timeout_s=120)
    assert job.status == "succeeded", job.error


async def proposals(gql: GraphQLClient, coordinator: Caller, world: Consortium) -> list[dict[str, Any]]:
    body = await gql(PROPOSALS, {"rfq": world.rfq}, token=coordinator.token)
    assert "errors" not in body, body
    result: list[dict[str, Any]] = body["data"]["proposals"]
    return result


async def approved(
    gql: GraphQLClient, pool: db.Pool, coordinator: Caller, world: Consortium, *, by: dt.date | None = None
) -> dict[str, Any]:
    """Solve, approve the proposal, and return it as it is then (with its invitations)."""
    await solved(gql, pool, coordinator, world)
    (proposal,) = await proposals(gql, coordinator, world)
    body = await gql(
        APPROVE,
        {"id": proposal["id"], "v": proposal["rowVersion"], "by": by.isoformat() if by else None},
        token=coordinator.token,
    )
    assert body["data"]["proposalApprove"]["errors"] == [], body
    (proposal,) = await proposals(gql, coordinator, world)
    return proposal
