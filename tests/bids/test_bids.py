"""bidSubmit and bidWithdraw: who, when (the deadline in JST), on what, with which numbers; nothing written on
any error."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from server import clock, db
from server.bids import service as bid_service
from server.errors import ValidationFailed
from tests.bids.conftest import ClientAt, add_factory, bid_input, counts, package_ids, submit_rfq
from tests.conftest import Caller, GraphQLClient, QueryLog, error_code, jst_today

SUBMIT = """
mutation($input: BidSubmitInput!) {
  bidSubmit(input: $input) {
    bid { id unitPriceJpy hoursPerUnit setupHours maxQuantity note factory { nameEn } package { position } }
    errors { field code message }
  }
}
"""
WITHDRAW = "mutation($id: ID!) { bidWithdraw(id: $id) { bid { id } errors { field code message } } }"
CANCEL = "mutation($id: ID!) { rfqCancel(id: $id) { errors { code } } }"


def payload(body: dict[str, Any], name: str = "bidSubmit") -> dict[str, Any]:
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"][name]
    return result


async def test_an_owner_bids_and_replaces_its_bid(
    gql: GraphQLClient, pool: db.Pool, buyer: Caller, owner: Caller
) -> None:
    # given
    factory_id = await add_factory(pool, owner)
    rfq = await submit_rfq(pool, buyer)
    turning, _ = await package_ids(pool, rfq.id)
    # when
    first = payload(await gql(SUBMIT, {"input": bid_input(turning, factory_id)}, token=owner.token))
    again = payload(
        await gql(
            SUBMIT,
            {"input": bid_input(turning, factory_id, unitPriceJpy=1700, note=" ok ")},
            token=owner.token,
        )
    )
    # then
    assert first["errors"] == []
    assert first["bid"]["factory"] == {"nameEn": "Machi Works"}
    assert first["bid"]["package"] == {"position": 1}
    assert again["bid"]["id"] == first["bid"]["id"]
    assert (again["bid"]["unitPriceJpy"], again["bid"]["note"]) == (1700, "ok")
    async with pool.acquire() as conn:
        kinds = await conn.fetch("SELECT kind FROM rfq_events WHERE rfq_id = $1 ORDER BY id", rfq.id)
    assert [k["kind"] for k in kinds] == ["rfq.submitted", "bid.submitted", "bid.replaced"]
    assert (await counts(pool))[0] == 1


async def test_an_owner_withdraws_its_bid(
    gql: GraphQLClient, pool: db.Pool, buyer: Caller, owner: Caller
) -> None:
    factory_id = await add_factory(pool, owner)
    rfq = await submit_rfq(pool, buyer)
    turning, _ = await package_ids(pool, rfq.id)
    bid_id = payload(await gql(SUBMIT, {"input": bid_input(turning, factory_id)}, token=owner.token))["bid"][
        "id"
    ]
    body = await gql(WITHDRAW, {"id": bid_id}, token=owner.token)
    assert payload(body, "bidWithdraw") == {"bid": {"id": bid_id}, "errors": []}
    assert await counts(pool) == (0, 3)  # submitted, bid.submitted, bid.withdrawn


async def test_the_deadline_lasts_until_the_end_of_its_day_in_japan(
    pool: db.Pool, client_at: ClientAt, buyer: Caller, owner: Caller
) -> None:
    # given an RFQ whose bid deadline is today in Japan
    today = jst_today()
    factory_id = await add_factory(pool, owner)
    rfq = await submit_rfq(pool, buyer, bid_deadline=today)
    turning, _ = await package_ids(pool, rfq.id)
    closes = clock.end_of_day_jst(today)
    just_before = await client_at(clock.FixedClock(closes - dt.timedelta(seconds=1)))
    at_the_end = await client_at(clock.FixedClock(closes))
    valid = {"validUntil": today.isoformat()}
    # when
    late = payload(
        await at_the_end(SUBMIT, {"input": bid_input(turning, factory_id, **valid)}, token=owner.token)
    )
    on_time = payload(
        await just_before(SUBMIT, {"input": bid_input(turning, factory_id, **valid)}, token=owner.token)
    )
    # then
    assert [e["code"] for e in late["errors"]] == ["BID_DEADLINE_PASSED"]
    assert late["bid"] is None
    assert on_time["errors"] == []
    bid_id = on_time["bid"]["id"]
    # a withdrawal after the deadline is refused as well
    refused = payload(await at_the_end(WITHDRAW, {"id": bid_id}, token=owner.token), "bidWithdraw")
    assert [e["code"] for e in refused["errors"]] == ["BID_DEADLINE_PASSED"]
    assert (await counts(pool))[0] == 1


async def test_deadline_judged_in_jst_by_the_service(pool: db.Pool, buyer: Caller, owner: Caller) -> None:
    # 15:00 UTC on the deadline day is midnight in Japan: closed, though it is still that day in UTC
    today = jst_today()
    factory_id = await add_factory(pool, owner)
    rfq = await submit_rfq(pool, buyer, bid_deadline=today)
    turning, _ = await package_ids(pool, rfq.id)
    data = bid_service.BidInput(
        package_id=turning,
        factory_id=factory_id,
        unit_price_jpy=1000,
        setup_cost_jpy=0,
        hours_per_unit=Decimal("0.2"),
        setup_hours=Decimal(1),
        valid_until=today,
    )
    midnight_jst = dt.datetime.combine(today, dt.time(15, 0), tzinfo=dt.UTC)
    with pytest.raises(ValidationFailed) as refused:
        await bid_service.submit_bid(pool, owner.principal, data, now=midnight_jst)
    assert [e.code.code for e in refused.value.errors] == ["BID_DEADLINE_PASSED"]


async def test_an_ineligible_factory_gets_every_reason(
    gql: GraphQLClient, pool: db.Pool, buyer: Caller, owner: Caller
) -> None:
    # given a factory without ISO 9001 whose turning is too coarse
    factory_id = await add_factory(pool, owner, certifications={})
    async with pool.acquire() as conn:
        await conn.execute("UPDATE capabilities SET best_tolerance_um = 50 WHERE factory_id = $1", factory_id)
    rfq = await submit_rfq(pool, buyer)
    turning, _ = await package_ids(pool, rfq.id)
    before = await counts(pool)
    # when
    result = payload(await gql(SUBMIT, {"input": bid_input(turning, factory_id)}, token=owner.token))
    # then
    (error,) = result["errors"]
    assert (error["field"], error["code"]) == ("factoryId", "NOT_ELIGIBLE")
    assert "10 µm" in error["message"]
    assert "50 µm" in error["message"]
    assert "does not hold ISO9001" in error["message"]
    assert await counts(pool) == before


async def test_bidding_for_another_owners_factory_is_forbidden(
    gql: GraphQLClient, pool: db.Pool, buyer: Caller, owner: Caller, other_owner: Caller
) -> None:
    theirs = await add_factory(pool, other_owner, name="Their Works")
    await add_factory(pool, owner)  # so that the owner sees the RFQ at all
    rfq = await submit_rfq(pool, buyer)
    turning, _ = await package_ids(pool, rfq.id)
    before = await counts(pool)
    result = payload(await gql(SUBMIT, {"input": bid_input(turning, theirs)}, token=owner.token))
    assert [(e["field"], e["code"]) for e in result["errors"]] == [("factoryId", "FORBIDDEN")]
    assert await counts(pool) == before


async def test_a_cancelled_rfq_takes_no_bids(
    gql: GraphQLClient, pool: db.Pool, buyer: Caller, owner: Caller
) -> None:
    factory_id = await add_factory(pool, owner)
    rfq = await submit_rfq(pool, buyer)
    turning, _ = await package_ids(pool, rfq.id)
    await gql(CANCEL, {"id": str(rfq.id)}, token=buyer.token)
    before = await counts(pool)
    result = payload(await gql(SUBMIT, {"input": bid_input(turning, factory_id)}, token=owner.token))
    assert [e["code"] for e in result["errors"]] == ["INVALID_STATE"]
    assert await counts(pool) == before


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"unitPriceJpy": -1}, [("unitPriceJpy", "OUT_OF_RANGE")]),
        ({"unitPriceJpy": 2_000_000_000}, [("unitPriceJpy", "OUT_OF_RANGE")]),
        ({"setupCostJpy": -5}, [("setupCostJpy", "OUT_OF_RANGE")]),
        ({"hoursPerUnit": 0}, [("hoursPerUnit", "OUT_OF_RANGE")]),
        ({"hoursPerUnit": 1e300}, [("hoursPerUnit", "OUT_OF_RANGE")]),
        ({"hoursPerUnit": 0.123456}, [("hoursPerUnit", "INVALID")]),
        ({"setupHours": -1}, [("setupHours", "OUT_OF_RANGE")]),
        ({"maxQuantity": 0}, [("maxQuantity", "OUT_OF_RANGE")]),
        ({"maxQuantity": 501}, [("maxQuantity", "OUT_OF_RANGE")]),
        ({"note": "x" * 2001}, [("note", "TOO_LONG")]),
        ({"note": "a\u0000b"}, [("note", "INVALID")]),
        (
            {"unitPriceJpy": 0, "setupCostJpy": -1, "hoursPerUnit": -2, "setupHours": 5000},
            [
                ("unitPriceJpy", "OUT_OF_RANGE"),
                ("setupCostJpy", "OUT_OF_RANGE"),
                ("hoursPerUnit", "OUT_OF_RANGE"),
                ("setupHours", "OUT_OF_RANGE"),
            ],
        ),
    ],
)
async def test_bad_numbers_are_refused_per_field_and_nothing_is_written(
    gql: GraphQLClient,
    pool: db.Pool,
    buyer: Caller,
    owner: Caller,
    changes: dict[str, Any],
    expected: list[tuple[str, str]],
) -> None:
    factory_id = await add_factory(pool, owner)
    rfq = await submit_rfq(pool, buyer)
    turning, _ = await package_ids(pool, rfq.id)
    before = await counts(pool)
    result = payload(
        await gql(SUBMIT, {"input": bid_input(turning, factory_id, **changes)}, token=owner.token)
    )
    assert [(e["field"], e["code"]) for e in result["errors"]] == expected
    assert result["bid"] is None
    assert await counts(pool) == before


async def test_bad_dates_are_refused_per_field(
    gql: GraphQLClient, pool: db.Pool, buyer: Caller, owner: Caller
) -> None:
    factory_id = await add_factory(pool, owner)
    rfq = await submit_rfq(pool, buyer)
    turning, _ = await package_ids(pool, rfq.id)
    today = jst_today()
    changes = {
        "earliestStart": (today - dt.timedelta(days=1)).isoformat(),
        "validUntil": (rfq.bid_deadline - dt.timedelta(days=1)).isoformat(),
    }
    result = payload(
        await gql(SUBMIT, {"input": bid_input(turning, factory_id, **changes)}, token=owner.token)
    )
    assert [(e["field"], e["code"]) for e in result["errors"]] == [
        ("earliestStart", "DATE_IN_PAST"),
        ("validUntil", "DATE_ORDER"),
    ]
    late_start = {"earliestStart": rfq.due_date.isoformat()}
    result = payload(
        await gql(SUBMIT, {"input": bid_input(turning, factory_id, **late_start)}, token=owner.token)
    )
    assert [(e["field"], e["code"]) for e in result["errors"]] == [("earliestStart", "DATE_ORDER")]


async def test_only_factory_owners_bid(
    gql: GraphQLClient, pool: db.Pool, buyer: Caller, owner: Caller, coordinator: Caller
) -> None:
    factory_id = await add_factory(pool, owner)
    rfq = await submit_rfq(pool, buyer)
    turning, _ = await package_ids(pool, rfq.id)
    variables = {"input": bid_input(turning, factory_id)}
    assert error_code(await gql(SUBMIT, variables, token=buyer.token)) == "FORBIDDEN"
    assert error_code(await gql(SUBMIT, variables, token=coordinator.token)) == "FORBIDDEN"
    assert error_code(await gql(SUBMIT, variables)) == "UNAUTHENTICATED"
    assert await counts(pool) == (0, 1)


async def test_unknown_and_malformed_ids_are_not_found(
    gql: GraphQLClient, pool: db.Pool, buyer: Caller, owner: Caller
) -> None:
    factory_id = await add_factory(pool, owner)
    rfq = await submit_rfq(pool, buyer)
    turning, _ = await package_ids(pool, rfq.id)
    missing = "00000000-0000-0000-0000-000000000000"
    for changes in ({"packageId": missing}, {"packageId": "nope"}, {"factoryId": missing}):
        body = await gql(SUBMIT, {"input": bid_input(turning, factory_id, **changes)}, token=owner.token)
        assert error_code(body) == "NOT_FOUND", changes
    assert error_code(await gql(WITHDRAW, {"id": missing}, token=owner.token)) == "NOT_FOUND"


async def test_a_package_of_an_rfq_the_owner_cannot_see_is_not_found(
    gql: GraphQLClient, pool: db.Pool, buyer: Caller, owner: Caller
) -> None:
    # the owner's only factory mills aluminium: the SUS304 turning RFQ is not its business
    factory_id = await add_factory(pool, owner, capabilities=())
    rfq = await submit_rfq(pool, buyer)
    turning, _ = await package_ids(pool, rfq.id)
    body = await gql(SUBMIT, {"input": bid_input(turning, factory_id)}, token=owner.token)
    assert error_code(body) == "NOT_FOUND"


async def test_another_owners_bid_cannot_be_withdrawn(
    gql: GraphQLClient, pool: db.Pool, buyer: Caller, owner: Caller, other_owner: Caller
) -> None:
    factory_id = await add_factory(pool, owner)
    await add_factory(pool, other_owner, name="Their Works")
    rfq = await submit_rfq(pool, buyer)
    turning, _ = await package_ids(pool, rfq.id)
    bid_id = payload(await gql(SUBMIT, {"input": bid_input(turning, factory_id)}, token=owner.token))["bid"][
        "id"
    ]
    assert error_code(await gql(WITHDRAW, {"id": bid_id}, token=other_owner.token)) == "NOT_FOUND"
    assert error_code(await gql(WITHDRAW, {"id": bid_id}, token=buyer.token)) == "FORBIDDEN"
    assert (await counts(pool))[0] == 1


async def test_a_bid_checks_its_rfqs_visibility_once(
    pool: db.Pool, buyer: Caller, owner: Caller, query_log: QueryLog
) -> None:
    # given
    today = jst_today()
    factory_id = await add_factory(pool, owner)
    rfq = await submit_rfq(pool, buyer)
    turning, _ = await package_ids(pool, rfq.id)
    data = bid_service.BidInput(
        package_id=turning,
        factory_id=factory_id,
        unit_price_jpy=1000,
        setup_cost_jpy=0,
        hours_per_unit=Decimal("0.2"),
        setup_hours=Decimal(1),
        valid_until=today + dt.timedelta(days=30),
    )
    # when
    query_log.recording = True
    bid = await bid_service.submit_bid(pool, owner.principal, data, now=clock.SYSTEM_CLOCK.now())
    query_log.recording = False
    # then: the visibility query (the owner's factories matching the RFQ) ran once, and the bid is stored
    assert len([q for q in query_log.app_queries if "vf.owner_user_id" in q]) == 1
    assert bid.package_id == turning
