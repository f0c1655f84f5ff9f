"""Who sees RFQs at all: approved factories only, and RFQs that need an NDA after the owner's NDA."""

from __future__ import annotations

from server import db
from tests.conftest import Caller, GraphQLClient, error_code
from tests.rfqs.conftest import add_factory, submitted_id

RFQ = "query($id: ID!) { rfq(id: $id) { title } }"
LIST = "{ rfqs { totalCount } }"
SHAFT = {
    "name": "Shaft",
    "material": "SUS304",
    "quantity": 10,
    "toleranceUm": 10,
    "envelopeMm": 50,
    "operations": [{"processCode": "cnc_turning"}],
}


async def test_only_approved_factories_see_rfqs(
    gql: GraphQLClient, pool: db.Pool, owner: Caller, buyer: Caller, coordinator: Caller
) -> None:
    factory = await add_factory(pool, owner, [("cnc_turning", ["SUS304"])])
    rfq = await submitted_id(gql, buyer, lines=[SHAFT])
    assert (await gql(RFQ, {"id": rfq}, token=owner.token))["data"]["rfq"]["title"]
    # the cluster office withdraws the approval: the RFQ is gone for this owner, as if it did not exist
    reject = 'mutation($id: ID!) { factoryReject(id: $id, reason: "Audit failed.") { errors { code } } }'
    await gql(reject, {"id": str(factory)}, token=coordinator.token)
    assert error_code(await gql(RFQ, {"id": rfq}, token=owner.token)) == "NOT_FOUND"
    assert (await gql(LIST, token=owner.token))["data"]["rfqs"]["totalCount"] == 0


async def test_nda_rfqs_need_the_owner_to_accept_the_nda(
    gql: GraphQLClient, pool: db.Pool, owner: Caller, buyer: Caller
) -> None:
    await add_factory(pool, owner, [("cnc_turning", ["SUS304"])])
    open_rfq = await submitted_id(gql, buyer, lines=[SHAFT])
    secret_rfq = await submitted_id(gql, buyer, lines=[SHAFT], ndaRequired=True, idempotencyKey="nda")
    assert error_code(await gql(RFQ, {"id": secret_rfq}, token=owner.token)) == "NOT_FOUND"
    assert (await gql(LIST, token=owner.token))["data"]["rfqs"]["totalCount"] == 1
    accepted = await gql(
        "mutation { ndaAccept { user { ndaAcceptedAt } errors { code } } }", token=owner.token
    )
    first = accepted["data"]["ndaAccept"]["user"]["ndaAcceptedAt"]
    assert first is not None
    assert (await gql(RFQ, {"id": secret_rfq}, token=owner.token))["data"]["rfq"]["title"]
    assert (await gql(LIST, token=owner.token))["data"]["rfqs"]["totalCount"] == 2
    # accepting again keeps the first date
    again = await gql("mutation { ndaAccept { user { ndaAcceptedAt } } }", token=owner.token)
    assert again["data"]["ndaAccept"]["user"]["ndaAcceptedAt"] == first
    assert open_rfq != secret_rfq
