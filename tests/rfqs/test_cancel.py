"""rfqCancel: the owning buyer or a coordinator, only while open; ids of others reveal nothing."""

from __future__ import annotations

from tests.conftest import Caller, GraphQLClient, error_code
from tests.rfqs.conftest import submitted_id

CANCEL = """
mutation($id: ID!) { rfqCancel(id: $id) { rfq { id status } errors { field code message } } }
"""
RFQ_STATUS = "query($id: ID!) { rfq(id: $id) { status } }"


async def test_owner_cancels_its_rfq(gql: GraphQLClient, buyer: Caller) -> None:
    # given
    rfq_id = await submitted_id(gql, buyer)
    # when
    body = await gql(CANCEL, {"id": rfq_id}, token=buyer.token)
    # then
    assert body["data"]["rfqCancel"] == {"rfq": {"id": rfq_id, "status": "CANCELLED"}, "errors": []}
    after = await gql(RFQ_STATUS, {"id": rfq_id}, token=buyer.token)
    assert after["data"]["rfq"]["status"] == "CANCELLED"


async def test_cancel_twice_is_invalid_state(gql: GraphQLClient, buyer: Caller) -> None:
    rfq_id = await submitted_id(gql, buyer)
    await gql(CANCEL, {"id": rfq_id}, token=buyer.token)
    body = await gql(CANCEL, {"id": rfq_id}, token=buyer.token)
    payload = body["data"]["rfqCancel"]
    assert payload["rfq"] is None
    assert [e["code"] for e in payload["errors"]] == ["INVALID_STATE"]


async def test_coordinator_may_cancel_any_rfq(gql: GraphQLClient, buyer: Caller, coordinator: Caller) -> None:
    rfq_id = await submitted_id(gql, buyer)
    body = await gql(CANCEL, {"id": rfq_id}, token=coordinator.token)
    assert body["data"]["rfqCancel"]["rfq"]["status"] == "CANCELLED"


async def test_other_buyer_gets_not_found(gql: GraphQLClient, buyer: Caller, other_buyer: Caller) -> None:
    rfq_id = await submitted_id(gql, buyer)
    body = await gql(CANCEL, {"id": rfq_id}, token=other_buyer.token)
    assert error_code(body) == "NOT_FOUND"
    still = await gql(RFQ_STATUS, {"id": rfq_id}, token=buyer.token)
    assert still["data"]["rfq"]["status"] == "OPEN"


async def test_unknown_and_malformed_ids_are_not_found(gql: GraphQLClient, buyer: Caller) -> None:
    for rfq_id in ["00000000-0000-0000-0000-000000000000", "not-a-uuid", "x" * 5000]:
        body = await gql(CANCEL, {"id": rfq_id}, token=buyer.token)
        assert error_code(body) == "NOT_FOUND", rfq_id


async def test_factory_owner_and_anonymous_may_not_cancel(
    gql: GraphQLClient, buyer: Caller, owner: Caller
) -> None:
    rfq_id = await submitted_id(gql, buyer)
    assert error_code(await gql(CANCEL, {"id": rfq_id}, token=owner.token)) == "FORBIDDEN"
    assert error_code(await gql(CANCEL, {"id": rfq_id})) == "UNAUTHENTICATED"
