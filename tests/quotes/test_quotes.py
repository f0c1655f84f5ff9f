"""Quotes over HTTP: issue (with every bad input), the buyer's role-only view, accept (idempotent), decline,
expiry, the award's bookings in `capacity`, cancelling an awarded RFQ, and what joint awards do to ties."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from server import db
from server.clock import iso_week_label
from server.partnerships import repo as partnerships_repo
from server.quotes import service
from tests.conftest import Caller, GraphQLClient, jst_today
from tests.quotes.conftest import Approved, Member, approved, invite, members, set_rate, week

ISSUE = """
mutation($p: ID!, $m: Decimal!, $until: Date!, $c: String) {
  quoteIssue(input: {proposalId: $p, marginPct: $m, validUntil: $until, currency: $c}) {
    quote { id status currency totalAmount jpyPerUnit minorUnits costJpy marginPct completionDate
            shippingDays deliveryDate validUntil
            exchangeRate { currency jpyPerUnit setOn }
            lines { name quantity unitPrice amount }
            consortium { summary lead { area prefecture certifications }
                         partnerFactories partnerPrefectures } }
    errors { field code message }
  }
}
"""
QUOTE = """
query($id: ID!) {
  quote(id: $id) {
    id status currency totalAmount costJpy marginPct consortium { summary } lines { unitPrice }
    exchangeRate { jpyPerUnit setOn }
  }
}
"""
ACCEPT = """
mutation($id: ID!, $k: String!) {
  quoteAccept(id: $id, idempotencyKey: $k) { quote { id status answeredAt } errors { field code message } }
}
"""
DECLINE = """
mutation($id: ID!, $r: String!) {
  quoteDecline(id: $id, reason: $r) { quote { id status declineReason } errors { field code message } }
}
"""
CANCEL = """
mutation($id: ID!, $r: String) { rfqCancel(id: $id, reason: $r) { rfq { status } errors { field code } } }
"""
CAPACITY = """
query($f: ID!, $from: Date!) {
  factory(id: $f) {
    capacity(fromWeek: $from, weeks: 3) { processCode weekStart hours capacityHours bookedHours }
  }
}
"""
EVENTS = "query($id: ID!) { rfq(id: $id) { status events { kind payload } } }"


def until(days: int = 14) -> str:
    return (jst_today() + dt.timedelta(days=days)).isoformat()


@pytest.fixture
async def pair(pool: db.Pool) -> tuple[Member, Member]:
    return await members(pool, "m")


@pytest.fixture
async def ready(pool: db.Pool, buyer: Caller, coordinator: Caller, pair: tuple[Member, Member]) -> Approved:
    """An approved proposal whose two members accepted; a USD rate of 150."""
    world = await approved(pool, buyer, coordinator, turning=pair[0], inspection=pair[1])
    await invite(pool, world.proposal_id)
    await set_rate(pool, coordinator, "USD", "150")
    return world


async def _issue(
    gql: GraphQLClient, coordinator: Caller, world: Approved, **variables: Any
) -> dict[str, Any]:
    values = {"p": str(world.proposal_id), "m": "10", "until": until(), "c": None} | variables
    body = await gql(ISSUE, values, token=coordinator.token)
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["quoteIssue"]
    return payload


async def _issued(gql: GraphQLClient, coordinator: Caller, world: Approved, **variables: Any) -> str:
    payload = await _issue(gql, coordinator, world, **variables)
    assert payload["errors"] == [], payload
    quote_id: str = payload["quote"]["id"]
    return quote_id


async def _count(pool: db.Pool, sql: str, *args: Any) -> int:
    async with pool.acquire() as conn:
        value: int = await conn.fetchval(sql, *args)
    return value


async def _status(pool: db.Pool, rfq_id: UUID) -> str:
    async with pool.acquire() as conn:
        value: str = await conn.fetchval("SELECT status FROM rfqs WHERE id = $1", rfq_id)
    return value


# --- issuing ---------------------------------------------------------------------------------------------


async def test_a_quote_in_usd_shows_the_rate_the_lines_and_the_consortium_as_roles(
    gql: GraphQLClient, pool: db.Pool, coordinator: Caller, buyer: Caller, ready: Approved
) -> None:
    payload = await _issue(gql, coordinator, ready)
    assert payload["errors"] == []
    quote = payload["quote"]
    # 500 × 1800 + 24,000 (turning) + 500 × 300 + 5,000 (CMM) + 12,000 transport = 1,091,000 JPY;
    # × 1.10 = 1,200,100 JPY; / 150 = 8,000.67 USD; / 500 = 16.0013 → 16.00 per piece (half up, per line).
    assert quote["costJpy"] == 1_091_000
    assert quote["currency"] == "USD"
    assert quote["minorUnits"] == 2
    assert quote["lines"] == [
        {"name": "Drive shaft", "quantity": 500, "unitPrice": "16.00", "amount": "8000.00"}
    ]
    assert quote["totalAmount"] == "8000.00"
    assert Decimal(quote["jpyPerUnit"]) == 150
    assert quote["exchangeRate"]["currency"] == "USD"
    assert quote["exchangeRate"]["setOn"] == jst_today().isoformat()
    completion = week(3) + dt.timedelta(days=4)
    assert quote["completionDate"] == completion.isoformat()
    assert quote["shippingDays"] == 29  # DAP to the US (migration 0012)
    assert quote["deliveryDate"] == (completion + dt.timedelta(days=29)).isoformat()
    assert quote["consortium"] == {
        "summary": "lead factory: Ota, Tokyo, ISO 9001; 1 partner factory in 1 prefecture",
        "lead": {"area": "Ota", "prefecture": "Tokyo", "certifications": ["ISO 9001"]},
        "partnerFactories": 1,
        "partnerPrefectures": 1,
    }
    assert await _status(pool, ready.rfq_id) == "quoted"

    # The buyer sees the quote, the rate and the roles; no cost, margin, factory name or id.
    seen = await gql(QUOTE, {"id": quote["id"]}, token=buyer.token)
    assert seen["data"]["quote"]["costJpy"] is None
    assert seen["data"]["quote"]["marginPct"] is None
    assert seen["data"]["quote"]["exchangeRate"]["jpyPerUnit"] == "150.000000"
    events = await gql(EVENTS, {"id": str(ready.rfq_id)}, token=buyer.token)
    text = json.dumps([seen, events])
    for secret in (
        str(ready.turning.factory_id),
        str(ready.inspection.factory_id),
        "m turning",
        "m inspection",
    ):
        assert secret not in text
    assert "QUOTE_ISSUED" in {e["kind"] for e in events["data"]["rfq"]["events"]}


async def test_a_jpy_quote_needs_no_rate(gql: GraphQLClient, coordinator: Caller, ready: Approved) -> None:
    quote = (await _issue(gql, coordinator, ready, c="JPY", m="0"))["quote"]
    assert quote["exchangeRate"] is None
    assert quote["minorUnits"] == 0
    # 1,091,000 / 500 = 2182 JPY a piece, exactly.
    assert quote["lines"][0]["unitPrice"] == "2182"
    assert quote["totalAmount"] == "1091000"


@pytest.mark.parametrize(
    ("variables", "field", "code"),
    [
        ({"m": "100.01"}, "marginPct", "OUT_OF_RANGE"),
        ({"m": "-1"}, "marginPct", "OUT_OF_RANGE"),
        ({"m": "5.555"}, "marginPct", "INVALID"),
        ({"c": "EUR"}, "currency", "NO_EXCHANGE_RATE"),
        ({"c": "XYZ"}, "currency", "UNKNOWN_CURRENCY"),
        ({"c": "KWD"}, "currency", "INVALID"),
        ({"until": "2000-01-01"}, "validUntil", "DATE_IN_PAST"),
    ],
)
async def test_bad_quote_input_is_a_typed_error_and_writes_nothing(
    gql: GraphQLClient,
    pool: db.Pool,
    coordinator: Caller,
    ready: Approved,
    variables: dict[str, Any],
    field: str,
    code: str,
) -> None:
    payload = await _issue(gql, coordinator, ready, **variables)
    assert payload["quote"] is None
    assert {(e["field"], e["code"]) for e in payload["errors"]} == {(field, code)}
    assert await _count(pool, "SELECT count(*) FROM quotes") == 0
    assert await _status(pool, ready.rfq_id) == "proposed"


@pytest.mark.parametrize("status", ["pending", "declined", None])
async def test_a_quote_before_every_member_accepted_is_refused(
    gql: GraphQLClient,
    pool: db.Pool,
    buyer: Caller,
    coordinator: Caller,
    pair: tuple[Member, Member],
    status: str | None,
) -> None:
    world = await approved(pool, buyer, coordinator, turning=pair[0], inspection=pair[1])
    if status is not None:
        await invite(pool, world.proposal_id, status=status)
    payload = await _issue(gql, coordinator, world, c="JPY")
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("proposalId", "MEMBERS_PENDING")]
    assert await _count(pool, "SELECT count(*) FROM quotes") == 0


async def test_a_price_awaiting_confirmation_blocks_the_quote(
    gql: GraphQLClient, pool: db.Pool, coordinator: Caller, ready: Approved
) -> None:
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE proposals SET price_confirmation_required = true WHERE id = $1", ready.proposal_id
        )
    payload = await _issue(gql, coordinator, ready)
    assert [e["code"] for e in payload["errors"]] == ["MEMBERS_PENDING"]


async def test_a_second_quote_while_one_is_live_is_refused(
    gql: GraphQLClient, coordinator: Caller, ready: Approved
) -> None:
    await _issued(gql, coordinator, ready)
    payload = await _issue(gql, coordinator, ready)
    assert [e["code"] for e in payload["errors"]] == ["INVALID_STATE"]


async def test_the_newest_rate_applies_and_the_history_stays(
    gql: GraphQLClient, coordinator: Caller, buyer: Caller, ready: Approved
) -> None:
    body = await gql(
        'mutation { exchangeRateSet(input: {currency: "usd", jpyPerUnit: "151.25"}) '
        "{ exchangeRate { currency jpyPerUnit setOn } errors { code } } }",
        token=coordinator.token,
    )
    assert body["data"]["exchangeRateSet"]["exchangeRate"]["jpyPerUnit"] == "151.250000"
    history = await gql('{ exchangeRates(currency: "USD") { jpyPerUnit } }', token=coordinator.token)
    assert [r["jpyPerUnit"] for r in history["data"]["exchangeRates"]] == ["151.250000", "150.000000"]
    quote = (await _issue(gql, coordinator, ready))["quote"]
    assert quote["jpyPerUnit"] == "151.250000"
    for bad, code in (
        ('currency: "JPY", jpyPerUnit: "1"', "INVALID"),
        ('currency: "USD", jpyPerUnit: "0"', "OUT_OF_RANGE"),
        ('currency: "USD", jpyPerUnit: "1.0000001"', "INVALID"),
    ):
        refused = await gql(
            f"mutation {{ exchangeRateSet(input: {{{bad}}}) {{ exchangeRate {{ id }} errors {{ code }} }} }}",
            token=coordinator.token,
        )
        assert refused["data"]["exchangeRateSet"]["errors"][0]["code"] == code


# --- the buyer's answer ----------------------------------------------------------------------------------


async def test_accepting_awards_books_capacity_and_a_repeat_returns_the_first_result(
    gql: GraphQLClient, pool: db.Pool, coordinator: Caller, buyer: Caller, ready: Approved
) -> None:
    quote_id = await _issued(gql, coordinator, ready)
    first = await gql(ACCEPT, {"id": quote_id, "k": "po-1"}, token=buyer.token)
    assert first["data"]["quoteAccept"]["errors"] == []
    assert first["data"]["quoteAccept"]["quote"]["status"] == "ACCEPTED"
    again = await gql(ACCEPT, {"id": quote_id, "k": "po-1"}, token=buyer.token)
    assert again["data"]["quoteAccept"] == first["data"]["quoteAccept"]
    other_key = await gql(ACCEPT, {"id": quote_id, "k": "po-2"}, token=buyer.token)
    assert [e["code"] for e in other_key["data"]["quoteAccept"]["errors"]] == ["INVALID_STATE"]
    assert await _status(pool, ready.rfq_id) == "awarded"
    assert await _count(pool, "SELECT count(*) FROM capacity_bookings WHERE released_at IS NULL") == 2

    # The members' capacity shows the booking (to the owner), free hours reduced.
    body = await gql(
        CAPACITY,
        {"f": str(ready.turning.factory_id), "from": week(2).isoformat()},
        token=ready.turning.owner.token,
    )
    turning = {
        w["weekStart"]: w for w in body["data"]["factory"]["capacity"] if w["processCode"] == "cnc_turning"
    }
    assert turning[week(2).isoformat()] | {} == {
        "processCode": "cnc_turning",
        "weekStart": week(2).isoformat(),
        "hours": 10.0,
        "capacityHours": 40.0,
        "bookedHours": 30.0,
    }
    assert turning[week(3).isoformat()]["hours"] == 40.0

    # The buyer-safe log tells the buyer its RFQ is awarded, without the bookings.
    events = await gql(EVENTS, {"id": str(ready.rfq_id)}, token=buyer.token)
    kinds = [e["kind"] for e in events["data"]["rfq"]["events"]]
    assert "QUOTE_ACCEPTED" in kinds
    assert "CAPACITY_BOOKED" not in kinds
    office = await gql(EVENTS, {"id": str(ready.rfq_id)}, token=coordinator.token)
    booked = next(e for e in office["data"]["rfq"]["events"] if e["kind"] == "CAPACITY_BOOKED")
    assert {
        "factory": str(ready.turning.factory_id),
        "process": "cnc_turning",
        "week": iso_week_label(week(2)),
        "hours": "30.00",
    } in booked["payload"]["bookings"]


async def test_another_buyers_quote_and_unknown_ids_are_not_found(
    gql: GraphQLClient,
    pool: db.Pool,
    coordinator: Caller,
    other_buyer: Caller,
    owner: Caller,
    ready: Approved,
) -> None:
    quote_id = await _issued(gql, coordinator, ready)
    for q in (quote_id, "00000000-0000-4000-8000-000000000000"):
        body = await gql(ACCEPT, {"id": q, "k": "x"}, token=other_buyer.token)
        assert [(e["field"], e["code"]) for e in body["data"]["quoteAccept"]["errors"]] == [
            ("id", "NOT_FOUND")
        ]
        body = await gql(DECLINE, {"id": q, "r": "no"}, token=other_buyer.token)
        assert [e["code"] for e in body["data"]["quoteDecline"]["errors"]] == ["NOT_FOUND"]
    seen = await gql(QUOTE, {"id": quote_id}, token=other_buyer.token)
    assert seen["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert await _status(pool, ready.rfq_id) == "quoted"


async def test_declining_needs_a_reason_and_ends_the_rfq(
    gql: GraphQLClient, pool: db.Pool, coordinator: Caller, buyer: Caller, ready: Approved
) -> None:
    quote_id = await _issued(gql, coordinator, ready)
    blank = await gql(DECLINE, {"id": quote_id, "r": "  "}, token=buyer.token)
    assert [e["code"] for e in blank["data"]["quoteDecline"]["errors"]] == ["REQUIRED"]
    body = await gql(DECLINE, {"id": quote_id, "r": "Too expensive."}, token=buyer.token)
    assert body["data"]["quoteDecline"]["quote"]["status"] == "DECLINED"
    assert await _status(pool, ready.rfq_id) == "declined"
    late = await gql(ACCEPT, {"id": quote_id, "k": "k"}, token=buyer.token)
    assert [e["code"] for e in late["data"]["quoteAccept"]["errors"]] == ["INVALID_STATE"]
    assert await _count(pool, "SELECT count(*) FROM capacity_bookings") == 0


async def test_an_expired_quote_cannot_be_accepted_and_the_deadline_task_expires_it_once(
    gql: GraphQLClient, pool: db.Pool, coordinator: Caller, buyer: Caller, ready: Approved
) -> None:
    quote_id = await _issued(gql, coordinator, ready, until=jst_today().isoformat())
    async with pool.acquire() as conn:
        await conn.execute("UPDATE quotes SET valid_until = valid_until - 1 WHERE id = $1", UUID(quote_id))
    body = await gql(ACCEPT, {"id": quote_id, "k": "k"}, token=buyer.token)
    assert [e["code"] for e in body["data"]["quoteAccept"]["errors"]] == ["QUOTE_EXPIRED"]
    assert await _status(pool, ready.rfq_id) == "quoted"  # nothing written
    async with pool.acquire() as conn:
        assert await service.expire_overdue(conn, today=jst_today()) == 1
        assert await service.expire_overdue(conn, today=jst_today()) == 0
    assert await _status(pool, ready.rfq_id) == "expired"
    body = await gql(ACCEPT, {"id": quote_id, "k": "k"}, token=buyer.token)
    assert [e["code"] for e in body["data"]["quoteAccept"]["errors"]] == ["QUOTE_EXPIRED"]


async def test_the_deadline_task_locks_the_rfq_before_the_quote_like_an_accept(
    gql: GraphQLClient, pool: db.Pool, coordinator: Caller, ready: Approved
) -> None:
    """While a buyer's accept holds the RFQ (it locks the RFQ, then the quote), the deadline task waits for
    the RFQ without holding the quote: the accept can still lock the quote (no deadlock)."""
    quote_id = UUID(await _issued(gql, coordinator, ready, until=jst_today().isoformat()))
    async with pool.acquire() as conn:
        await conn.execute("UPDATE quotes SET valid_until = valid_until - 1 WHERE id = $1", quote_id)

    async def expire() -> int:
        async with pool.acquire() as conn:
            return await service.expire_overdue(conn, today=jst_today())

    async with pool.acquire() as accept:
        held = accept.transaction()
        await held.start()
        await accept.execute("SELECT 1 FROM rfqs WHERE id = $1 FOR UPDATE", ready.rfq_id)
        task = asyncio.create_task(expire())
        try:
            for _ in range(300):  # until the task waits on a lock
                waiting = await accept.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()"
                )
                if waiting:
                    break
                await asyncio.sleep(0.1)
            assert waiting
            # the accept's second lock: the quote is free (the task has not taken it)
            await accept.execute("SELECT 1 FROM quotes WHERE id = $1 FOR UPDATE NOWAIT", quote_id)
        finally:
            await held.rollback()
        assert await asyncio.wait_for(task, timeout=30) == 1
    assert await _status(pool, ready.rfq_id) == "expired"


# --- cancelling ------------------------------------------------------------------------------------------


async def test_cancelling_an_awarded_rfq_takes_a_coordinator_and_a_reason_and_releases_bookings(
    gql: GraphQLClient, pool: db.Pool, coordinator: Caller, buyer: Caller, ready: Approved
) -> None:
    quote_id = await _issued(gql, coordinator, ready)
    await gql(ACCEPT, {"id": quote_id, "k": "k"}, token=buyer.token)
    by_buyer = await gql(CANCEL, {"id": str(ready.rfq_id), "r": "changed our mind"}, token=buyer.token)
    assert [e["code"] for e in by_buyer["data"]["rfqCancel"]["errors"]] == ["FORBIDDEN"]
    no_reason = await gql(CANCEL, {"id": str(ready.rfq_id)}, token=coordinator.token)
    assert [e["code"] for e in no_reason["data"]["rfqCancel"]["errors"]] == ["REQUIRED"]
    assert await _count(pool, "SELECT count(*) FROM capacity_bookings WHERE released_at IS NULL") == 2
    done = await gql(
        CANCEL, {"id": str(ready.rfq_id), "r": "Buyer's project stopped."}, token=coordinator.token
    )
    assert done["data"]["rfqCancel"] == {"rfq": {"status": "CANCELLED"}, "errors": []}
    assert await _count(pool, "SELECT count(*) FROM capacity_bookings WHERE released_at IS NULL") == 0
    body = await gql(
        CAPACITY, {"f": str(ready.turning.factory_id), "from": week(2).isoformat()}, token=coordinator.token
    )
    assert all(w["bookedHours"] == 0 for w in body["data"]["factory"]["capacity"])


async def test_cancelling_a_quoted_rfq_withdraws_the_quote(
    gql: GraphQLClient, pool: db.Pool, coordinator: Caller, buyer: Caller, ready: Approved
) -> None:
    quote_id = await _issued(gql, coordinator, ready)
    done = await gql(CANCEL, {"id": str(ready.rfq_id)}, token=buyer.token)
    assert done["data"]["rfqCancel"]["errors"] == []
    seen = await gql(QUOTE, {"id": quote_id}, token=buyer.token)
    assert seen["data"]["quote"]["status"] == "WITHDRAWN"


async def test_cancelling_a_proposed_rfq_withdraws_pending_invitations(
    gql: GraphQLClient, pool: db.Pool, buyer: Caller, coordinator: Caller, pair: tuple[Member, Member]
) -> None:
    world = await approved(pool, buyer, coordinator, turning=pair[0], inspection=pair[1])
    await invite(pool, world.proposal_id, status="pending")
    done = await gql(CANCEL, {"id": str(world.rfq_id)}, token=coordinator.token)
    assert done["data"]["rfqCancel"]["errors"] == []
    assert await _count(pool, "SELECT count(*) FROM invitations WHERE status = 'withdrawn'") == 2
    # each member reads the withdrawal in its own invitation's events
    for member in pair:
        async with pool.acquire() as conn:
            invitation = await conn.fetchval(
                "SELECT id FROM invitations WHERE proposal_id = $1 AND factory_id = $2",
                world.proposal_id,
                member.factory_id,
            )
        seen = await gql(
            "query($id: ID!) { invitation(id: $id) { status events { kind payload } } }",
            {"id": str(invitation)},
            token=member.owner.token,
        )
        assert seen["data"]["invitation"]["status"] == "WITHDRAWN"
        kinds = [e["kind"] for e in seen["data"]["invitation"]["events"]]
        assert kinds == ["INVITATION_SENT", "INVITATION_WITHDRAWN"]
        assert seen["data"]["invitation"]["events"][1]["payload"]["reason"] == "RFQ cancelled"


# --- ties ------------------------------------------------------------------------------------------------


async def test_a_joint_award_adds_to_the_members_collaboration_weight(
    gql: GraphQLClient, pool: db.Pool, coordinator: Caller, buyer: Caller, ready: Approved
) -> None:
    ids = [ready.turning.factory_id, ready.inspection.factory_id]
    async with pool.acquire() as conn:
        assert await partnerships_repo.collaboration_weights(conn, factory_ids=ids) == []
    quote_id = await _issued(gql, coordinator, ready)
    await gql(ACCEPT, {"id": quote_id, "k": "k"}, token=buyer.token)
    async with pool.acquire() as conn:
        (tie,) = await partnerships_repo.collaboration_weights(conn, factory_ids=ids)
    assert (tie.factory_a, tie.factory_b, tie.weight) == (min(ids), max(ids), 1)
    await gql(CANCEL, {"id": str(ready.rfq_id), "r": "stopped"}, token=coordinator.token)
    async with pool.acquire() as conn:
        assert await partnerships_repo.collaboration_weights(conn, factory_ids=ids) == []
