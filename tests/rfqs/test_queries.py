"""rfq(id) and rfqs: scoping by role, field-level visibility, keyset pages, batched loading."""

from __future__ import annotations

import copy
from typing import Any

from server import db
from tests.conftest import Caller, GraphQLClient, QueryLog, error_code
from tests.rfqs.conftest import BRACKET, RFQ_FIELDS, SHAFT, add_factory, submitted_id

RFQ = f"query($id: ID!) {{ rfq(id: $id) {{ {RFQ_FIELDS} }} }}"
RFQS = """
query($filter: RfqFilter, $first: Int, $after: String) {
  rfqs(filter: $filter, first: $first, after: $after) {
    edges { cursor node { id title status } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
CANCEL = "mutation($id: ID!) { rfqCancel(id: $id) { errors { code } } }"


async def listed_ids(gql: GraphQLClient, caller: Caller, **variables: Any) -> list[str]:
    body = await gql(RFQS, variables, token=caller.token)
    assert "errors" not in body, body
    return [e["node"]["id"] for e in body["data"]["rfqs"]["edges"]]


# --- scoping ------------------------------------------------------------------------------------------


async def test_buyers_see_only_their_own_rfqs(gql: GraphQLClient, buyer: Caller, other_buyer: Caller) -> None:
    # given
    mine = await submitted_id(gql, buyer)
    theirs = await submitted_id(gql, other_buyer)
    # then
    assert await listed_ids(gql, buyer) == [mine]
    assert await listed_ids(gql, other_buyer) == [theirs]
    assert (await gql(RFQ, {"id": mine}, token=buyer.token))["data"]["rfq"]["id"] == mine
    assert error_code(await gql(RFQ, {"id": theirs}, token=buyer.token)) == "NOT_FOUND"


async def test_coordinator_sees_every_rfq(
    gql: GraphQLClient, buyer: Caller, other_buyer: Caller, coordinator: Caller
) -> None:
    first = await submitted_id(gql, buyer)
    second = await submitted_id(gql, other_buyer)
    assert await listed_ids(gql, coordinator) == [second, first]  # newest first
    body = await gql(RFQ, {"id": first}, token=coordinator.token)
    assert body["data"]["rfq"]["buyer"] == {"name": "Acme Robotics"}


async def test_anonymous_is_unauthenticated(gql: GraphQLClient, buyer: Caller) -> None:
    rfq_id = await submitted_id(gql, buyer)
    assert error_code(await gql(RFQS)) == "UNAUTHENTICATED"
    assert error_code(await gql(RFQ, {"id": rfq_id})) == "UNAUTHENTICATED"
    assert error_code(await gql(RFQ, {"id": "garbage"})) == "UNAUTHENTICATED"


async def test_malformed_and_unknown_ids_are_not_found(gql: GraphQLClient, buyer: Caller) -> None:
    for rfq_id in ["garbage", "00000000-0000-0000-0000-000000000000"]:
        assert error_code(await gql(RFQ, {"id": rfq_id}, token=buyer.token)) == "NOT_FOUND"


async def test_factory_owner_sees_rfqs_its_factories_could_work_on(
    gql: GraphQLClient, pool: db.Pool, buyer: Caller, owner: Caller, other_owner: Caller
) -> None:
    # given: owner grinds stainless steel; other_owner turns only brass and mills aluminium... for no RFQ line
    await add_factory(pool, owner, [("cylindrical_grinding", ["SUS304", "SCM440"])])
    await add_factory(pool, other_owner, [("cnc_turning", ["C3604"]), ("wire_edm", ["A6061"])])
    shaft_only = await submitted_id(gql, buyer, lines=[copy.deepcopy(SHAFT)])
    bracket_only = await submitted_id(gql, buyer, lines=[copy.deepcopy(BRACKET)])
    # then
    assert await listed_ids(gql, owner) == [shaft_only]
    assert (await gql(RFQ, {"id": shaft_only}, token=owner.token))["data"]["rfq"]["id"] == shaft_only
    assert error_code(await gql(RFQ, {"id": bracket_only}, token=owner.token)) == "NOT_FOUND"
    assert await listed_ids(gql, other_owner) == []
    assert error_code(await gql(RFQ, {"id": shaft_only}, token=other_owner.token)) == "NOT_FOUND"


async def test_factory_owner_without_factories_sees_nothing(
    gql: GraphQLClient, buyer: Caller, owner: Caller
) -> None:
    await submitted_id(gql, buyer)
    assert await listed_ids(gql, owner) == []


async def test_cancelled_rfqs_are_hidden_from_factory_owners(
    gql: GraphQLClient, pool: db.Pool, buyer: Caller, owner: Caller, coordinator: Caller
) -> None:
    await add_factory(pool, owner, [("cnc_turning", ["SUS304"])])
    rfq_id = await submitted_id(gql, buyer)
    assert await listed_ids(gql, owner) == [rfq_id]
    # when
    await gql(CANCEL, {"id": rfq_id}, token=buyer.token)
    # then
    assert await listed_ids(gql, owner) == []
    assert error_code(await gql(RFQ, {"id": rfq_id}, token=owner.token)) == "NOT_FOUND"
    assert await listed_ids(gql, buyer) == [rfq_id]
    assert await listed_ids(gql, coordinator) == [rfq_id]


# --- field-level visibility ---------------------------------------------------------------------------


async def test_buyer_identity_hidden_from_factory_owners_unless_disclosed(
    gql: GraphQLClient, pool: db.Pool, buyer: Caller, owner: Caller
) -> None:
    await add_factory(pool, owner, [("cnc_turning", ["SUS304"])])
    hidden = await submitted_id(gql, buyer, discloseBuyer=False)
    disclosed = await submitted_id(gql, buyer, discloseBuyer=True)
    # the owner sees the parts and requirements, not who asks
    seen = (await gql(RFQ, {"id": hidden}, token=owner.token))["data"]["rfq"]
    assert seen["buyer"] is None
    assert seen["dueDate"] is not None
    assert seen["lines"][0]["quantity"] == 500
    assert seen["lines"][0]["toleranceUm"] == 5.0
    assert seen["lines"][0]["operations"][0]["process"]["code"] == "cnc_turning"
    # unless the buyer disclosed itself
    shown = (await gql(RFQ, {"id": disclosed}, token=owner.token))["data"]["rfq"]
    assert shown["buyer"] == {"name": "Acme Robotics"}
    # the buyer always sees itself
    own = (await gql(RFQ, {"id": hidden}, token=buyer.token))["data"]["rfq"]
    assert own["buyer"] == {"name": "Acme Robotics"}


async def test_target_price_only_for_buyer_and_coordinator(
    gql: GraphQLClient, pool: db.Pool, buyer: Caller, owner: Caller, coordinator: Caller
) -> None:
    await add_factory(pool, owner, [("cnc_turning", ["SUS304"])])
    rfq_id = await submitted_id(gql, buyer, discloseBuyer=True)

    async def price(caller: Caller) -> str | None:
        body = await gql(RFQ, {"id": rfq_id}, token=caller.token)
        value: str | None = body["data"]["rfq"]["lines"][0]["targetUnitPrice"]
        return value

    assert await price(buyer) == "12.50"
    assert await price(coordinator) == "12.50"
    assert await price(owner) is None


# --- pages --------------------------------------------------------------------------------------------


async def test_keyset_pages_and_status_filter(gql: GraphQLClient, buyer: Caller) -> None:
    # given: five RFQs, the second one cancelled
    ids = [await submitted_id(gql, buyer, title=f"RFQ {i}") for i in range(5)]
    await gql(CANCEL, {"id": ids[1]}, token=buyer.token)
    newest_first = list(reversed(ids))
    # when: pages of two
    seen: list[str] = []
    after = None
    while True:
        body = await gql(RFQS, {"first": 2, "after": after}, token=buyer.token)
        page = body["data"]["rfqs"]
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    # then
    assert seen == newest_first
    assert await listed_ids(gql, buyer, filter={"status": "CANCELLED"}) == [ids[1]]
    assert await listed_ids(gql, buyer, filter={"status": "OPEN"}) == [i for i in newest_first if i != ids[1]]


async def test_buyer_filter(
    gql: GraphQLClient, buyer: Caller, other_buyer: Caller, coordinator: Caller
) -> None:
    mine = await submitted_id(gql, buyer)
    await submitted_id(gql, other_buyer)
    me = await gql("{ me { buyer { id } } }", token=buyer.token)
    buyer_id = me["data"]["me"]["buyer"]["id"]
    assert await listed_ids(gql, coordinator, filter={"buyerId": buyer_id}) == [mine]
    assert await listed_ids(gql, other_buyer, filter={"buyerId": buyer_id}) == []
    # a malformed id names nothing: NOT_FOUND, like every id argument (schema/ids.py)
    body = await gql(RFQS, {"filter": {"buyerId": "garbage"}}, token=coordinator.token)
    assert error_code(body) == "NOT_FOUND"


async def test_bad_page_arguments_are_coded_errors(gql: GraphQLClient, buyer: Caller) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"first": 0}, "OUT_OF_RANGE"),
        ({"first": 101}, "OUT_OF_RANGE"),
        ({"after": "garbage"}, "INVALID"),
        ({"after": "WyJ4IiwgInkiXQ"}, "INVALID"),  # ["x", "y"]: a list of the right length, wrong values
    ]
    for variables, code in cases:
        body = await gql(RFQS, variables, token=buyer.token)
        assert error_code(body) == "BAD_USER_INPUT", variables
        assert body["errors"][0]["extensions"]["errors"][0]["code"] == code, variables


# --- batching -----------------------------------------------------------------------------------------

DEEP_PAGE = """
query($first: Int) {
  rfqs(first: $first) {
    edges { node { buyer { name } lines { material { code } operations { process { nameEn } } } } }
  }
}
"""


async def test_a_page_costs_the_same_queries_whatever_its_size(
    gql: GraphQLClient, buyer: Caller, other_buyer: Caller, coordinator: Caller, query_log: QueryLog
) -> None:
    # given: 30 RFQs of two buyers, two lines each, five operations in all
    for i in range(30):
        await submitted_id(gql, buyer if i % 2 else other_buyer, title=f"RFQ {i}")

    async def count(first: int) -> int:
        query_log.queries.clear()
        query_log.recording = True
        body = await gql(DEEP_PAGE, {"first": first}, token=coordinator.token)
        query_log.recording = False
        assert "errors" not in body, body
        assert len(body["data"]["rfqs"]["edges"]) == first
        # (the catalogue's version check runs at most once a second, whatever the page)
        return len([q for q in query_log.app_queries if "FROM catalogue_version" not in q])

    # when / then (the first request opens the pool's connections, which asyncpg sets up with queries)
    await count(30)
    small, large = await count(3), await count(30)
    assert small == large
    # session lookup, the page, then one query each: buyers, lines, operations (materials and processes
    # come from the catalogue in memory)
    assert large == 5


RFQ_BUYER_CONTACT = "query($id: ID!) { rfq(id: $id) { buyer { name contactEmail } } }"


async def test_disclosed_buyer_contact_email_stays_with_buyer_and_coordinator(
    gql: GraphQLClient, pool: db.Pool, buyer: Caller, owner: Caller, coordinator: Caller
) -> None:
    # given a buyer with a contact address that disclosed itself on an RFQ
    async with pool.acquire() as conn:
        await conn.execute("UPDATE buyers SET contact_email = 'sourcing@acme.example'")
    await add_factory(pool, owner, [("cnc_turning", ["SUS304"])])
    rfq_id = await submitted_id(gql, buyer, discloseBuyer=True)

    async def seen_by(caller: Caller) -> dict[str, str | None]:
        body = await gql(RFQ_BUYER_CONTACT, {"id": rfq_id}, token=caller.token)
        buyer_seen: dict[str, str | None] = body["data"]["rfq"]["buyer"]
        return buyer_seen

    # then the factory owner learns who asks, but not how to reach them around the cluster office
    assert await seen_by(owner) == {"name": "Acme Robotics", "contactEmail": None}
    assert (await seen_by(buyer))["contactEmail"] == "sourcing@acme.example"
    assert (await seen_by(coordinator))["contactEmail"] == "sourcing@acme.example"
