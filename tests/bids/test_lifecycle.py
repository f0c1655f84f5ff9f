"""The RFQ life cycle (server/rfqs/lifecycle.py backed by the database) and the RFQ event log."""

from __future__ import annotations

import asyncpg
import pytest

from server import db
from server.rfqs import lifecycle
from tests.bids.conftest import add_factory, bid_input, package_ids, submit_rfq
from tests.conftest import Caller, GraphQLClient, error_code

CANCEL = "mutation($id: ID!) { rfqCancel(id: $id) { rfq { status } errors { code message } } }"
SUBMIT = "mutation($input: BidSubmitInput!) { bidSubmit(input: $input) { bid { id } errors { code } } }"
WITHDRAW = "mutation($id: ID!) { bidWithdraw(id: $id) { errors { code } } }"
EVENTS = "query($id: ID!) { rfq(id: $id) { status events { kind actor payload at } } }"


async def test_the_database_holds_the_same_life_cycle(pool: db.Pool) -> None:
    async with pool.acquire() as conn:
        states = {
            r["status"]: r["initial"] for r in await conn.fetch("SELECT status, initial FROM rfq_states")
        }
        transitions = {
            (r[0], r[1]) for r in await conn.fetch("SELECT from_status, to_status FROM rfq_transitions")
        }
    assert states == {s.value: s is lifecycle.INITIAL for s in lifecycle.RfqStatus}
    assert transitions == {(a.value, b.value) for a, b in lifecycle.TRANSITIONS}


async def test_the_database_refuses_an_illegal_transition(pool: db.Pool, buyer: Caller) -> None:
    rfq = await submit_rfq(pool, buyer)
    async with pool.acquire() as conn:
        with pytest.raises(asyncpg.CheckViolationError, match="illegal RFQ transition open -> awarded"):
            await conn.execute("UPDATE rfqs SET status = 'awarded' WHERE id = $1", rfq.id)
        await conn.execute("UPDATE rfqs SET status = 'cancelled', cancelled_at = now() WHERE id = $1", rfq.id)
        with pytest.raises(asyncpg.CheckViolationError, match="cancelled -> open"):
            await conn.execute("UPDATE rfqs SET status = 'open', cancelled_at = NULL WHERE id = $1", rfq.id)
        with pytest.raises(asyncpg.CheckViolationError, match="cancelled -> lost"):
            await conn.execute("UPDATE rfqs SET status = 'lost' WHERE id = $1", rfq.id)


async def test_an_rfq_cannot_be_written_in_a_later_state(pool: db.Pool, buyer: Caller) -> None:
    async with pool.acquire() as conn:
        with pytest.raises(asyncpg.CheckViolationError, match="cannot start in status proposed"):
            await conn.execute(
                """
                INSERT INTO rfqs (buyer_id, title, currency, incoterm, destination_country, due_date,
                                  bid_deadline, status)
                VALUES ($1, 'x', 'USD', 'DAP', 'US', current_date + 10, current_date + 1, 'proposed')
                """,
                buyer.principal.buyer_id,
            )


async def test_the_event_log_is_append_only(pool: db.Pool, buyer: Caller) -> None:
    await submit_rfq(pool, buyer)
    async with pool.acquire() as conn:
        with pytest.raises(asyncpg.CheckViolationError, match="append-only"):
            await conn.execute("UPDATE rfq_events SET kind = 'rfq.forged'")


async def test_cancel_goes_through_the_life_cycle_and_is_logged(
    gql: GraphQLClient, pool: db.Pool, buyer: Caller
) -> None:
    rfq = await submit_rfq(pool, buyer)
    body = await gql(CANCEL, {"id": str(rfq.id)}, token=buyer.token)
    assert body["data"]["rfqCancel"]["rfq"] == {"status": "CANCELLED"}
    again = await gql(CANCEL, {"id": str(rfq.id)}, token=buyer.token)
    assert again["data"]["rfqCancel"]["errors"] == [
        {"code": "INVALID_STATE", "message": "An RFQ that is cancelled cannot become cancelled."}
    ]
    events = await gql(EVENTS, {"id": str(rfq.id)}, token=buyer.token)
    logged = [(e["kind"], e["actor"], e["payload"]) for e in events["data"]["rfq"]["events"]]
    assert logged == [
        ("SUBMITTED", "BUYER", {"lines": 1, "packages": 2}),
        ("STATUS_CHANGED", "BUYER", {"from": "open", "to": "cancelled"}),
    ]


async def test_coordinators_read_every_event_buyers_the_safe_ones_others_none(
    gql: GraphQLClient,
    pool: db.Pool,
    buyer: Caller,
    other_buyer: Caller,
    owner: Caller,
    coordinator: Caller,
) -> None:
    # given: a bid, its withdrawal and a new bid, then the coordinator cancels
    factory_id = await add_factory(pool, owner)
    rfq = await submit_rfq(pool, buyer)
    turning, _ = await package_ids(pool, rfq.id)
    first = await gql(SUBMIT, {"input": bid_input(turning, factory_id)}, token=owner.token)
    await gql(WITHDRAW, {"id": first["data"]["bidSubmit"]["bid"]["id"]}, token=owner.token)
    await gql(SUBMIT, {"input": bid_input(turning, factory_id)}, token=owner.token)
    await gql(CANCEL, {"id": str(rfq.id)}, token=coordinator.token)
    variables = {"id": str(rfq.id)}
    # when / then
    everything = (await gql(EVENTS, variables, token=coordinator.token))["data"]["rfq"]["events"]
    assert [(e["kind"], e["actor"]) for e in everything] == [
        ("SUBMITTED", "BUYER"),
        ("BID_SUBMITTED", "FACTORY_OWNER"),
        ("BID_WITHDRAWN", "FACTORY_OWNER"),
        ("BID_SUBMITTED", "FACTORY_OWNER"),
        ("STATUS_CHANGED", "COORDINATOR"),
    ]
    assert everything[1]["payload"]["factoryId"] == str(factory_id)
    safe = (await gql(EVENTS, variables, token=buyer.token))["data"]["rfq"]["events"]
    assert [e["kind"] for e in safe] == ["SUBMITTED", "STATUS_CHANGED"]
    assert str(factory_id) not in str(safe)
    assert "Machi Works" not in str(safe)
    assert error_code(await gql(EVENTS, variables, token=other_buyer.token)) == "NOT_FOUND"
    assert error_code(await gql(EVENTS, variables)) == "UNAUTHENTICATED"


async def test_factory_owners_read_no_events(
    gql: GraphQLClient, pool: db.Pool, buyer: Caller, owner: Caller
) -> None:
    await add_factory(pool, owner)
    rfq = await submit_rfq(pool, buyer)
    body = await gql(EVENTS, {"id": str(rfq.id)}, token=owner.token)
    assert body["data"]["rfq"]["events"] == []


async def test_packages_are_written_with_the_rfq(pool: db.Pool, buyer: Caller) -> None:
    rfq = await submit_rfq(pool, buyer)
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            """
            SELECT o.process_code FROM rfq_packages p
            JOIN rfq_operations o ON o.rfq_line_id = p.rfq_line_id AND o.position = p.operation_position
            WHERE p.rfq_id = $1 ORDER BY p.operation_position
            """,
            rfq.id,
        )
    assert [r["process_code"] for r in rows] == ["cnc_turning", "cmm_inspection"]
