"""Partnerships: declared by one owner, confirmed by the other, seen by the two and coordinators."""

from __future__ import annotations

from typing import Any

from server import db
from server.partnerships import repo
from tests.conftest import Caller, GraphQLClient, error_code, make_factory_owner
from tests.factories.conftest import make_factory

DECLARE = """
mutation($input: PartnershipDeclareInput!) {
  partnershipDeclare(input: $input) { partnership { id confirmedAt factory { nameEn } partner { nameEn } }
                                      errors { field code } }
}
"""
CONFIRM = "mutation($id: ID!) { partnershipConfirm(id: $id) { partnership { confirmedAt } errors { code } } }"
END = "mutation($id: ID!) { partnershipEnd(id: $id) { partnership { id } errors { code } } }"
LIST = "query($f: ID!) { partnerships(factoryId: $f) { id confirmedAt } }"


async def _declare(gql: GraphQLClient, caller: Caller, factory: str, partner: str) -> dict[str, Any]:
    body = await gql(
        DECLARE, {"input": {"factoryId": factory, "partnerFactoryId": partner}}, token=caller.token
    )
    payload: dict[str, Any] = body["data"]["partnershipDeclare"] if body.get("data") else body
    return payload


async def test_a_tie_counts_once_the_partner_confirms(
    gql: GraphQLClient, pool: db.Pool, owner: Caller, other_owner: Caller
) -> None:
    ota = await make_factory(pool, owner, "Ota Seiki")
    kamata = await make_factory(pool, other_owner, "Kamata Kensaku")
    declared = await _declare(gql, owner, str(ota.id), str(kamata.id))
    assert declared["errors"] == []
    assert declared["partnership"]["partner"] == {"nameEn": "Kamata Kensaku"}
    pid = declared["partnership"]["id"]
    async with pool.acquire() as conn:
        assert await repo.collaboration_weights(conn, factory_ids=[ota.id, kamata.id]) == []
    # the declaring side cannot confirm its own declaration
    assert error_code(await gql(CONFIRM, {"id": pid}, token=owner.token)) == "FORBIDDEN"
    confirmed = await gql(CONFIRM, {"id": pid}, token=other_owner.token)
    assert confirmed["data"]["partnershipConfirm"]["partnership"]["confirmedAt"] is not None
    async with pool.acquire() as conn:
        (weight,) = await repo.collaboration_weights(conn, factory_ids=[ota.id, kamata.id])
    assert weight.weight == 1
    assert {weight.factory_a, weight.factory_b} == {ota.id, kamata.id}


async def test_ties_are_between_owners(
    gql: GraphQLClient, pool: db.Pool, owner: Caller, other_owner: Caller
) -> None:
    # two partnerships between the same two owners make every pair of their factories weigh 2
    ota = await make_factory(pool, owner, "Ota Seiki")
    ota2 = await make_factory(pool, owner, "Ota Seiki Two")
    kamata = await make_factory(pool, other_owner, "Kamata Kensaku")
    for mine in (ota, ota2):
        pid = (await _declare(gql, owner, str(mine.id), str(kamata.id)))["partnership"]["id"]
        await gql(CONFIRM, {"id": pid}, token=other_owner.token)
    async with pool.acquire() as conn:
        weights = await repo.collaboration_weights(conn, factory_ids=[ota.id, ota2.id, kamata.id])
    assert sorted(w.weight for w in weights) == [2, 2]  # ota–kamata, ota2–kamata; ota–ota2 has no tie


async def test_bad_declarations(
    gql: GraphQLClient, pool: db.Pool, owner: Caller, other_owner: Caller
) -> None:
    ota = await make_factory(pool, owner, "Ota Seiki")
    ota2 = await make_factory(pool, owner, "Ota Seiki Two")
    kamata = await make_factory(pool, other_owner, "Kamata Kensaku")
    assert (await _declare(gql, owner, str(ota.id), str(ota2.id)))["errors"] == [
        {"field": "partnerFactoryId", "code": "INVALID"}
    ]
    assert (await _declare(gql, owner, str(ota.id), str(kamata.id)))["errors"] == []
    # the same pair again, from either side
    assert (await _declare(gql, other_owner, str(kamata.id), str(ota.id)))["errors"] == [
        {"field": "partnerFactoryId", "code": "ALREADY_EXISTS"}
    ]
    # another owner's factory as "mine"
    assert error_code(await _declare(gql, other_owner, str(ota.id), str(kamata.id))) == "FORBIDDEN"


async def test_only_the_two_owners_and_coordinators_see_or_end_it(
    gql: GraphQLClient, pool: db.Pool, owner: Caller, other_owner: Caller, coordinator: Caller, buyer: Caller
) -> None:
    third = await make_factory_owner(pool, "owner3@koba.example")
    ota = await make_factory(pool, owner, "Ota Seiki")
    kamata = await make_factory(pool, other_owner, "Kamata Kensaku")
    pid = (await _declare(gql, owner, str(ota.id), str(kamata.id)))["partnership"]["id"]
    for allowed in (owner, coordinator):
        assert [
            p["id"]
            for p in (await gql(LIST, {"f": str(ota.id)}, token=allowed.token))["data"]["partnerships"]
        ] == [pid]
    assert error_code(await gql(LIST, {"f": str(ota.id)}, token=third.token)) == "FORBIDDEN"
    assert error_code(await gql(LIST, {"f": str(ota.id)}, token=buyer.token)) == "FORBIDDEN"
    assert error_code(await gql(LIST, {"f": str(ota.id)})) == "UNAUTHENTICATED"
    # a stranger cannot end it, nor learn that it exists
    assert error_code(await gql(END, {"id": pid}, token=third.token)) == "NOT_FOUND"
    assert error_code(await gql(CONFIRM, {"id": pid}, token=third.token)) == "NOT_FOUND"
    ended = await gql(END, {"id": pid}, token=other_owner.token)
    assert ended["data"]["partnershipEnd"]["errors"] == []
    assert (await gql(LIST, {"f": str(ota.id)}, token=owner.token))["data"]["partnerships"] == []
