"""Issue 8 end to end over HTTP, on the demo data, continuing the proposals flow
(``tests/proposals/test_end_to_end.py``): solve the demo RFQ with the most bidders, approve (the members are
invited), every member but one accepts, the last declines, the repair job moves only the decliner's share,
the coordinator approves the repair, the newcomers accept (an estimated price adjusted within the tolerance),
the coordinator sets the USD rate and issues the quote in USD, the buyer (API key) sees roles only and
accepts it with an idempotency key, and the bookings show in the members' ``capacity`` and in a second RFQ's
Problem for the same weeks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from server import db
from server.auth.service import principal_from_token
from server.clock import iso_week_label
from server.demo.bids import seed_demo_bids
from server.demo.seed import DEMO_BUYERS, DEMO_PASSWORD, demo_rfqs, seed_demo
from server.jobs.plugins import SolveRequest
from server.jobs.worker import Worker
from server.proposals.problem_builder import build_problem
from server.rfqs import service as rfq_service
from tests.conftest import Caller, GraphQLClient, jst_today, utc_now
from tests.jobs.conftest import until_status
from tests.proposals.test_end_to_end import _demo_coordinator, _replaceable_member

PROPOSALS = """
query($rfq: ID!) {
  proposals(rfqId: $rfq) {
    id version rank rowVersion reviewState solverStatus parentId priceConfirmationRequired
    members { id }
    assignments { quantity factory { id } package { id } weeklyHours { week hours } }
    diff { joined left moves { packageId factoryId before after } }
    invitations { id status factory { id } carriedFromId estimated }
  }
}
"""
APPROVE = """
mutation($id: ID!, $v: Int!) {
  proposalApprove(id: $id, expectedVersion: $v) { proposal { reviewState } errors { field code } }
}
"""
LINES = "query($id: ID!) { invitation(id: $id) { lines { estimated unitPriceJpy package { id } } } }"
ACCEPT = """
mutation($id: ID!, $prices: [UnitPriceInput!]!) {
  invitationAccept(id: $id, input: {unitPrices: $prices}) {
    invitation { status offeredPriceJpy agreedPriceJpy } errors { field code message }
  }
}
"""
DECLINE = """
mutation($id: ID!) {
  invitationDecline(id: $id, reason: "Our five-axis machine is booked by another customer.") {
    invitation { status } errors { field code }
  }
}
"""
ISSUE = """
mutation($p: ID!, $until: Date!) {
  quoteIssue(input: {proposalId: $p, marginPct: "10", validUntil: $until, currency: "USD"}) {
    quote { id currency totalAmount jpyPerUnit exchangeRate { currency jpyPerUnit setOn } lines { amount } }
    errors { field code message }
  }
}
"""
BUYER_QUOTE = """
query($id: ID!) {
  quote(id: $id) { currency totalAmount jpyPerUnit consortium { summary } }
}
"""
AWARD = """
mutation($id: ID!) {
  quoteAccept(id: $id, idempotencyKey: "e2e-award-1") { quote { id status } errors { code } }
}
"""
CAPACITY = """
query($f: ID!, $from: Date!) {
  factory(id: $f) { capacity(fromWeek: $from, weeks: 26) { processCode weekStart hours bookedHours } }
}
"""


async def _log_in(gql: GraphQLClient, pool: db.Pool, email: str) -> Caller:
    body = await gql(
        "mutation($e: String!, $p: String!) { accountLogIn(input: {email: $e, password: $p}) { token } }",
        {"e": email, "p": DEMO_PASSWORD},
    )
    token: str = body["data"]["accountLogIn"]["token"]
    return Caller(token, await principal_from_token(pool, f"Bearer {token}", now=utc_now()))


async def _owners(gql: GraphQLClient, pool: db.Pool, factories: set[str]) -> dict[str, Caller]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT f.id, u.email FROM factories f JOIN users u ON u.id = f.owner_user_id "
            "WHERE f.id = ANY($1::uuid[])",
            [UUID(f) for f in factories],
        )
    return {str(r["id"]): await _log_in(gql, pool, r["email"]) for r in rows}


async def _proposals(gql: GraphQLClient, coordinator: Caller, rfq: str) -> list[dict[str, Any]]:
    body = await gql(PROPOSALS, {"rfq": rfq}, token=coordinator.token)
    assert "errors" not in body, body
    found: list[dict[str, Any]] = body["data"]["proposals"]
    return found


def _share(proposal: dict[str, Any], factory: str) -> dict[str, int]:
    return {
        a["package"]["id"]: a["quantity"] for a in proposal["assignments"] if a["factory"]["id"] == factory
    }


async def _accept(gql: GraphQLClient, owner: Caller, invitation: str) -> bool:
    """Accept; every estimated line's price is adjusted up by 1 % (within the tolerance). True when a price
    was adjusted."""
    lines = (await gql(LINES, {"id": invitation}, token=owner.token))["data"]["invitation"]["lines"]
    prices = [
        {"packageId": line["package"]["id"], "unitPriceJpy": line["unitPriceJpy"] * 101 // 100}
        for line in lines
        if line["estimated"] and line["unitPriceJpy"] >= 100
    ]
    body = await gql(ACCEPT, {"id": invitation, "prices": prices}, token=owner.token)
    answer = body["data"]["invitationAccept"]
    assert answer["errors"] == [], answer
    assert answer["invitation"]["status"] == "ACCEPTED"
    if prices:
        assert answer["invitation"]["agreedPriceJpy"] > answer["invitation"]["offeredPriceJpy"]
    return bool(prices)


async def _booked(
    gql: GraphQLClient, owners: dict[str, Caller], factories: list[str]
) -> dict[tuple[str, str], float]:
    """Booked hours per (factory, ISO week), as each owner reads them in its factory's ``capacity``."""
    monday = jst_today() - dt.timedelta(days=jst_today().weekday())
    shown: dict[tuple[str, str], float] = {}
    for factory in factories:
        body = await gql(CAPACITY, {"f": factory, "from": monday.isoformat()}, token=owners[factory].token)
        assert "errors" not in body, body
        for w in body["data"]["factory"]["capacity"]:
            if w["bookedHours"]:
                key = (factory, iso_week_label(dt.date.fromisoformat(w["weekStart"])))
                shown[key] = shown.get(key, 0.0) + w["bookedHours"]
    return shown


async def test_decline_repair_accept_quote_award_and_booked_capacity(
    gql: GraphQLClient, pool: db.Pool, worker: Worker
) -> None:
    await seed_demo(pool)
    coordinator = await _demo_coordinator(gql, pool)
    async with pool.acquire() as conn:
        rfq = str(
            await conn.fetchval(
                """
                SELECT r.id FROM rfqs r
                JOIN rfq_packages p ON p.rfq_id = r.id JOIN bids b ON b.package_id = p.id
                WHERE r.status = 'open'
                GROUP BY r.id ORDER BY count(DISTINCT b.factory_id) DESC LIMIT 1
                """
            )
        )
        buyer_country = await conn.fetchval(
            "SELECT b.country FROM rfqs r JOIN buyers b ON b.id = r.buyer_id WHERE r.id = $1", UUID(rfq)
        )
    (secret,) = [s for _, country, _, s in DEMO_BUYERS if country == buyer_country]
    buyer = Caller(secret, await principal_from_token(pool, f"Bearer {secret}", now=utc_now()))

    # The proposals flow: solve, approve; every member is invited.
    body = await gql(
        "mutation($r: ID!) { proposalsRequest(input: {rfqId: $r, presets: [CHEAPEST], timeLimitS: 5}) "
        "{ job { id } errors { code } } }",
        {"r": rfq},
        token=coordinator.token,
    )
    job = await until_status(
        pool, body["data"]["proposalsRequest"]["job"]["id"], "succeeded", "failed", timeout_s=180
    )
    assert job.status == "succeeded", job.error
    first = min(
        (p for p in await _proposals(gql, coordinator, rfq) if p["solverStatus"] in ("OPTIMAL", "FEASIBLE")),
        key=lambda p: p["rank"],
    )
    body = await gql(APPROVE, {"id": first["id"], "v": first["rowVersion"]}, token=coordinator.token)
    assert body["data"]["proposalApprove"]["errors"] == [], body
    first = next(p for p in await _proposals(gql, coordinator, rfq) if p["id"] == first["id"])
    invitations = {i["factory"]["id"]: i for i in first["invitations"]}
    assert set(invitations) == {m["id"] for m in first["members"]}
    assert {i["status"] for i in invitations.values()} == {"PENDING"}

    # 1. Every member but one accepts; that one declines; the repair moves only its share.
    decliner = await _replaceable_member(gql, coordinator, first["id"])
    accepters = [f for f in invitations if f != decliner]
    owners = await _owners(gql, pool, set(invitations))
    adjusted = 0
    for factory in accepters:
        adjusted += await _accept(gql, owners[factory], invitations[factory]["id"])
    body = await gql(DECLINE, {"id": invitations[decliner]["id"]}, token=owners[decliner].token)
    assert body["data"]["invitationDecline"] == {"invitation": {"status": "DECLINED"}, "errors": []}
    async with pool.acquire() as conn:
        repair_job = await conn.fetchval(
            "SELECT job_id FROM proposal_revisions WHERE parent_proposal_id = $1", UUID(first["id"])
        )
    job = await until_status(pool, repair_job, "succeeded", "failed", timeout_s=180)
    assert job.status == "succeeded", job.error
    repaired = next(p for p in await _proposals(gql, coordinator, rfq) if p["parentId"] == first["id"])
    assert repaired["solverStatus"] in ("OPTIMAL", "FEASIBLE"), repaired
    diff = repaired["diff"]
    assert diff["left"] == [decliner]
    assert {m["factoryId"] for m in diff["moves"] if m["after"] < m["before"]} == {decliner}
    assert {m["packageId"] for m in diff["moves"]} <= set(_share(first, decliner))
    changed = set()
    for factory in accepters:  # an accepted share is kept; its member may take over a piece of the decliner's
        kept, now = _share(first, factory), _share(repaired, factory)
        assert all(now.get(package, 0) >= quantity for package, quantity in kept.items()), (kept, now)
        if now != kept:
            changed.add(factory)
    body = await gql(APPROVE, {"id": repaired["id"], "v": repaired["rowVersion"]}, token=coordinator.token)
    assert body["data"]["proposalApprove"]["errors"] == [], body

    # 2. The newcomers accept; every member has accepted; a quote in USD, the buyer accepts.
    repaired = next(p for p in await _proposals(gql, coordinator, rfq) if p["id"] == repaired["id"])
    again = {i["factory"]["id"]: i for i in repaired["invitations"]}
    # only new or changed shares are invited again; unchanged accepted shares stay accepted
    assert {f for f, i in again.items() if i["status"] == "ACCEPTED"} == set(accepters) - changed
    newcomers = [f for f, i in again.items() if i["status"] == "PENDING"]
    assert set(newcomers) == set(diff["joined"]) | changed
    assert newcomers
    owners |= await _owners(gql, pool, set(newcomers))
    for factory in newcomers:
        adjusted += await _accept(gql, owners[factory], again[factory]["id"])
    estimated = any(i["estimated"] for i in [*invitations.values(), *again.values()])
    # every estimated share was adjusted, within the tolerance (the demo's consortium has some)
    assert estimated
    assert adjusted
    repaired = next(p for p in await _proposals(gql, coordinator, rfq) if p["id"] == repaired["id"])
    assert {i["status"] for i in repaired["invitations"]} == {"ACCEPTED"}
    assert repaired["priceConfirmationRequired"] is False

    rate = await gql(
        'mutation { exchangeRateSet(input: {currency: "USD", jpyPerUnit: "149.75"}) { errors { code } } }',
        token=coordinator.token,
    )
    assert rate["data"]["exchangeRateSet"]["errors"] == []
    issued = await gql(
        ISSUE,
        {"p": repaired["id"], "until": (jst_today() + dt.timedelta(days=14)).isoformat()},
        token=coordinator.token,
    )
    assert issued["data"]["quoteIssue"]["errors"] == [], issued
    quote = issued["data"]["quoteIssue"]["quote"]
    assert quote["currency"] == "USD"
    assert quote["exchangeRate"] == {
        "currency": "USD",
        "jpyPerUnit": "149.750000",
        "setOn": jst_today().isoformat(),
    }
    assert Decimal(quote["totalAmount"]) == sum(Decimal(line["amount"]) for line in quote["lines"])
    seen = await gql(BUYER_QUOTE, {"id": quote["id"]}, token=buyer.token)
    assert "errors" not in seen, seen
    assert seen["data"]["quote"]["totalAmount"] == quote["totalAmount"]
    summary: str = seen["data"]["quote"]["consortium"]["summary"]
    async with pool.acquire() as conn:
        names = await conn.fetch(
            "SELECT name_ja, name_en FROM factories WHERE id = ANY($1::uuid[])", [UUID(f) for f in again]
        )
    assert summary
    assert not any(r["name_ja"] in summary or r["name_en"] in summary for r in names)
    assert not any(f in str(seen) for f in again)
    booked_before = await _booked(gql, owners, list(again))
    accepted = await gql(AWARD, {"id": quote["id"]}, token=buyer.token)
    assert accepted["data"]["quoteAccept"] == {
        "quote": {"id": quote["id"], "status": "ACCEPTED"},
        "errors": [],
    }
    assert (
        await gql(AWARD, {"id": quote["id"]}, token=buyer.token) == accepted
    )  # the same key: the same result
    status = await gql("query($id: ID!) { rfq(id: $id) { status } }", {"id": rfq}, token=coordinator.token)
    assert status["data"]["rfq"]["status"] == "AWARDED"

    # 3. The bookings show in the members' capacity (the demo's own award may have booked some before) …
    expected: dict[tuple[str, str], float] = {}
    for a in repaired["assignments"]:
        for w in a["weeklyHours"]:
            key = (a["factory"]["id"], w["week"])
            expected[key] = expected.get(key, 0.0) + w["hours"]
    after = await _booked(gql, owners, list(again))
    grown = {
        k: v - booked_before.get(k, 0.0) for k, v in after.items() if v - booked_before.get(k, 0.0) > 1e-6
    }
    assert grown.keys() == {k for k, v in expected.items() if v > 0}
    for key, hours in expected.items():
        assert grown.get(key, 0.0) == pytest.approx(hours, abs=0.01)

    # … and a second RFQ's Problem for the same weeks sees the reduced hours.
    # (the second RFQ: the same lines and due date as the awarded one, by the same buyer)
    async with pool.acquire() as conn:
        title = await conn.fetchval("SELECT title FROM rfqs WHERE id = $1", UUID(rfq))
    (demo_input,) = [r for r in demo_rfqs(jst_today()) if r.title == title]
    stored = await rfq_service.submit_rfq(
        pool, buyer.principal, replace(demo_input, title=f"Again: {title}"), today=jst_today()
    )
    second = stored.id
    assert await seed_demo_bids(pool, rfq_title=stored.title, today=jst_today(), report=lambda _: None)
    async with pool.acquire() as conn:
        before = await conn.fetch(
            "SELECT factory_id, process_code, week_start, hours FROM capacity_bookings "
            "WHERE rfq_id = $1 AND released_at IS NULL",
            UUID(rfq),
        )
        problem = await build_problem(conn, second, SolveRequest(), today=jst_today())
        # the same Problem were the award's bookings released (rolled back: only to compare)
        released = conn.transaction()
        await released.start()
        await conn.execute("UPDATE capacity_bookings SET released_at = now() WHERE rfq_id = $1", UUID(rfq))
        unbooked = await build_problem(conn, second, SolveRequest(), today=jst_today())
        await released.rollback()
    assert before
    with_booking = {(c.factory, c.process, c.week): c.hours for c in problem.capacity}
    without = {(c.factory, c.process, c.week): c.hours for c in unbooked.capacity}
    compared = 0
    for row in before:
        cell = (str(row["factory_id"]), row["process_code"], (row["week_start"] - problem.origin).days // 7)
        if cell in without:
            compared += 1
            assert with_booking.get(cell, 0.0) == pytest.approx(max(0.0, without[cell] - float(row["hours"])))
    assert compared
