"""End to end over HTTP, continuing the proposals flow (issue 8, steps 2–3).

A real solve (the Problem builder over the registry and sealed bids, in a worker) gives the consortium; a
coordinator approves it (the members are invited); every member accepts (through the invitations service,
:func:`tests.quotes.conftest.invite`; ``tests/award/test_end_to_end.py`` does it all over HTTP); then, over
HTTP:

2. a coordinator sets the USD rate and issues the quote: in USD, showing the rate used; the buyer accepts;
3. the bookings show in the members' ``capacity``, and a second RFQ's Problem for the same weeks sees the
   reduced hours.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from uuid import UUID

import pytest

from server import db
from server.bids import service as bid_service
from server.clock import iso_week_label
from server.jobs.plugins import SolveRequest
from server.jobs.worker import Worker
from server.proposals.problem_builder import build_problem
from server.rfqs.service import LineInput
from tests.bids.conftest import Cap, add_factory, package_ids, rfq_input, submit_rfq
from tests.conftest import Caller, GraphQLClient, jst_today, make_factory_owner, utc_now
from tests.jobs.conftest import until_status
from tests.quotes.conftest import invite

ISSUE = """
mutation($p: ID!, $until: Date!) {
  quoteIssue(input: {proposalId: $p, marginPct: "12.5", validUntil: $until}) {
    quote { id currency totalAmount jpyPerUnit exchangeRate { currency jpyPerUnit setOn }
            lines { unitPrice quantity amount } consortium { summary } }
    errors { field code message }
  }
}
"""
CAPACITY = """
query($f: ID!, $from: Date!) {
  factory(id: $f) { capacity(fromWeek: $from, weeks: 12) { processCode weekStart hours bookedHours } }
}
"""


async def _bids(pool: db.Pool, rfq_id: UUID, bidders: list[tuple[Caller, UUID, int]]) -> None:
    packages = await package_ids(pool, rfq_id)
    for owner, factory, price in bidders:
        for package, hours in zip(packages, (Decimal("0.25"), Decimal("0.05")), strict=True):
            await bid_service.submit_bid(
                pool,
                owner.principal,
                bid_service.BidInput(
                    package_id=package,
                    factory_id=factory,
                    unit_price_jpy=price,
                    setup_cost_jpy=10_000,
                    hours_per_unit=hours,
                    setup_hours=Decimal(2),
                    valid_until=jst_today() + dt.timedelta(days=45),
                ),
                now=utc_now(),
            )


async def test_members_accept_the_buyer_accepts_a_usd_quote_and_capacity_is_booked(
    gql: GraphQLClient, pool: db.Pool, worker: Worker, coordinator: Caller, buyer: Caller, other_buyer: Caller
) -> None:
    owners = [await make_factory_owner(pool, f"e2e{i}@koba.example") for i in range(2)]
    factories = [
        await add_factory(
            pool, o, name=f"E2E Works {i}", capabilities=(Cap(), Cap(process_code="cmm_inspection"))
        )
        for i, o in enumerate(owners)
    ]
    # 300 shafts: 75 h of turning and 15 h of CMM, more than one 40 h week of one factory.
    rfq = await submit_rfq(pool, buyer, lines=_lines(300))
    await _bids(pool, rfq.id, [(owners[0], factories[0], 1500), (owners[1], factories[1], 1600)])

    # The proposals flow: solve (the Problem builder), approve.
    body = await gql(
        "mutation($r: ID!) { proposalsRequest(input: {rfqId: $r, presets: [CHEAPEST], timeLimitS: 5}) "
        "{ job { id } errors { code } } }",
        {"r": str(rfq.id)},
        token=coordinator.token,
    )
    job = await until_status(
        pool, body["data"]["proposalsRequest"]["job"]["id"], "succeeded", "failed", timeout_s=180
    )
    assert job.status == "succeeded", job.error
    proposals = await gql(
        "query($r: ID!) { proposals(rfqId: $r) { id rowVersion solverStatus assignments { factory { id } "
        "weeklyHours { week hours } } } }",
        {"r": str(rfq.id)},
        token=coordinator.token,
    )
    proposal = proposals["data"]["proposals"][0]
    assert proposal["solverStatus"] in ("OPTIMAL", "FEASIBLE")
    approve = await gql(
        "mutation($id: ID!, $v: Int!) { proposalApprove(id: $id, expectedVersion: $v) { errors { code } } }",
        {"id": proposal["id"], "v": proposal["rowVersion"]},
        token=coordinator.token,
    )
    assert approve["data"]["proposalApprove"]["errors"] == []
    await invite(pool, UUID(proposal["id"]))  # every member accepts

    # 2. A quote in USD showing the rate it used; the buyer accepts it.
    rate = await gql(
        'mutation { exchangeRateSet(input: {currency: "USD", jpyPerUnit: "155.5"}) { errors { code } } }',
        token=coordinator.token,
    )
    assert rate["data"]["exchangeRateSet"]["errors"] == []
    issued = await gql(
        ISSUE,
        {"p": proposal["id"], "until": (jst_today() + dt.timedelta(days=10)).isoformat()},
        token=coordinator.token,
    )
    assert issued["data"]["quoteIssue"]["errors"] == []
    quote = issued["data"]["quoteIssue"]["quote"]
    assert quote["currency"] == "USD"
    assert quote["exchangeRate"] == {
        "currency": "USD",
        "jpyPerUnit": "155.500000",
        "setOn": jst_today().isoformat(),
    }
    assert Decimal(quote["totalAmount"]) == sum(Decimal(line["amount"]) for line in quote["lines"])
    seen = await gql(
        "query($id: ID!) { quote(id: $id) { jpyPerUnit exchangeRate { jpyPerUnit } totalAmount } }",
        {"id": quote["id"]},
        token=buyer.token,
    )
    assert seen["data"]["quote"]["jpyPerUnit"] == "155.500000"
    accepted = await gql(
        'mutation($id: ID!) { quoteAccept(id: $id, idempotencyKey: "acme-award-1") '
        "{ quote { status } errors { code } } }",
        {"id": quote["id"]},
        token=buyer.token,
    )
    assert accepted["data"]["quoteAccept"] == {"quote": {"status": "ACCEPTED"}, "errors": []}

    # 3. The bookings show in the members' capacity …
    expected: dict[tuple[str, str], float] = {}
    for a in proposal["assignments"]:
        for w in a["weeklyHours"]:
            key = (a["factory"]["id"], w["week"])
            expected[key] = expected.get(key, 0.0) + w["hours"]
    monday = jst_today() - dt.timedelta(days=jst_today().weekday())
    shown: dict[tuple[str, str], float] = {}
    for owner, factory in zip(owners, factories, strict=True):
        body = await gql(CAPACITY, {"f": str(factory), "from": monday.isoformat()}, token=owner.token)
        for w in body["data"]["factory"]["capacity"]:
            if w["bookedHours"]:
                label = iso_week_label(dt.date.fromisoformat(w["weekStart"]))
                key = (str(factory), label)
                shown[key] = shown.get(key, 0.0) + w["bookedHours"]
                assert w["hours"] == pytest.approx(40 - w["bookedHours"])
    assert shown.keys() == {k for k, v in expected.items() if v > 0}
    for key, hours in expected.items():
        assert shown.get(key, 0.0) == pytest.approx(hours, abs=0.01)

    # … and a second RFQ's Problem for the same weeks sees the reduced hours.
    second = await submit_rfq(pool, other_buyer, lines=_lines(100))
    await _bids(pool, second.id, [(owners[0], factories[0], 1500), (owners[1], factories[1], 1600)])
    async with pool.acquire() as conn:
        problem = await build_problem(conn, second.id, SolveRequest(), today=jst_today())
        booked = await conn.fetch(
            "SELECT factory_id, process_code, week_start, hours FROM capacity_bookings "
            "WHERE released_at IS NULL"
        )
    assert booked
    capacity = {(c.factory, c.process, c.week): c.hours for c in problem.capacity}
    for row in booked:
        week = (row["week_start"] - problem.origin).days // 7
        free = 40 - float(row["hours"])
        cell = (str(row["factory_id"]), row["process_code"], week)
        if free > 0:
            assert capacity[cell] == pytest.approx(free)
        else:
            assert cell not in capacity  # a full week is left out


def _lines(quantity: int) -> list[LineInput]:
    """The standard line (turning then CMM) with another quantity."""
    (line,) = rfq_input(jst_today()).lines
    return [dataclasses.replace(line, quantity=quantity)]
