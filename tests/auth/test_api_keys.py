"""Buyer onboarding and API keys: who may create, list and revoke them."""

from __future__ import annotations

import datetime as dt

from server import db
from server.auth import service as auth_service
from server.auth.principal import Principal, Role
from tests.conftest import Caller, GraphQLClient, QueryLog, error_code, utc_now

ONBOARD = """
mutation($input: BuyerOnboardInput!) {
  buyerOnboard(input: $input) {
    buyer { id name country currency }
    apiKey { id prefix }
    secret
    errors { field code message }
  }
}
"""
KEY_CREATE = """
mutation($input: ApiKeyCreateInput!) {
  apiKeyCreate(input: $input) { apiKey { id name prefix buyerId } secret errors { field code } }
}
"""
KEY_REVOKE = "mutation($id: ID!) { apiKeyRevoke(id: $id) { apiKey { id revokedAt } errors { code } } }"
KEYS = "query($buyerId: ID) { apiKeys(buyerId: $buyerId) { id name prefix revokedAt } }"
ME = "query { me { role buyer { name country currency } } }"
BUYERS = "query { buyers { name } }"

GOOD_BUYER = {"name": "Lion City Medical Pte", "country": "sg", "currency": "sgd"}


async def test_coordinator_onboards_buyer_whose_key_works(gql: GraphQLClient, coordinator: Caller) -> None:
    # when
    body = await gql(ONBOARD, {"input": GOOD_BUYER}, token=coordinator.token)
    # then
    payload = body["data"]["buyerOnboard"]
    assert payload["errors"] == []
    assert (payload["buyer"]["country"], payload["buyer"]["currency"]) == ("SG", "SGD")
    assert payload["secret"].startswith(payload["apiKey"]["prefix"])
    me = await gql(ME, token=payload["secret"])
    assert me["data"]["me"] == {
        "role": "BUYER",
        "buyer": {"name": "Lion City Medical Pte", "country": "SG", "currency": "SGD"},
    }


async def test_onboard_bad_country_and_currency(gql: GraphQLClient, coordinator: Caller) -> None:
    body = await gql(
        ONBOARD, {"input": {"name": "X" * 201, "country": "XX", "currency": "ABC"}}, token=coordinator.token
    )
    codes = {(e["field"], e["code"]) for e in body["data"]["buyerOnboard"]["errors"]}
    assert codes == {("name", "TOO_LONG"), ("country", "UNKNOWN_COUNTRY"), ("currency", "UNKNOWN_CURRENCY")}
    buyers = await gql(BUYERS, token=coordinator.token)
    assert buyers["data"]["buyers"] == []


async def test_onboard_denied_to_owner_buyer_and_anonymous(
    gql: GraphQLClient, owner: Caller, buyer: Caller
) -> None:
    assert error_code(await gql(ONBOARD, {"input": GOOD_BUYER}, token=owner.token)) == "FORBIDDEN"
    assert error_code(await gql(ONBOARD, {"input": GOOD_BUYER}, token=buyer.token)) == "FORBIDDEN"
    assert error_code(await gql(ONBOARD, {"input": GOOD_BUYER})) == "UNAUTHENTICATED"


async def test_buyers_list_is_for_coordinators(
    gql: GraphQLClient, coordinator: Caller, buyer: Caller
) -> None:
    assert (await gql(BUYERS, token=coordinator.token))["data"]["buyers"] == [{"name": "Acme Robotics"}]
    assert error_code(await gql(BUYERS, token=buyer.token)) == "FORBIDDEN"


async def test_buyer_creates_and_revokes_its_own_key(gql: GraphQLClient, buyer: Caller) -> None:
    # given a second key
    created = (await gql(KEY_CREATE, {"input": {"name": "ERP production"}}, token=buyer.token))["data"]
    new_key = created["apiKeyCreate"]
    assert new_key["errors"] == []
    assert (await gql(ME, token=new_key["secret"]))["data"]["me"]["role"] == "BUYER"
    # when it is revoked
    revoked = await gql(KEY_REVOKE, {"id": new_key["apiKey"]["id"]}, token=buyer.token)
    # then it stops working at once, and the first key still works
    assert revoked["data"]["apiKeyRevoke"]["apiKey"]["revokedAt"] is not None
    assert error_code(await gql(ME, token=new_key["secret"])) == "UNAUTHENTICATED"
    assert (await gql(ME, token=buyer.token))["data"]["me"]["role"] == "BUYER"
    keys = (await gql(KEYS, token=buyer.token))["data"]["apiKeys"]
    assert [k["name"] for k in keys] == ["first key", "ERP production"]


async def test_buyer_cannot_touch_another_buyers_keys(
    gql: GraphQLClient, buyer: Caller, other_buyer: Caller
) -> None:
    other_keys = (await gql(KEYS, token=other_buyer.token))["data"]["apiKeys"]
    # revoking another buyer's key looks exactly like revoking a missing one
    body = await gql(KEY_REVOKE, {"id": other_keys[0]["id"]}, token=buyer.token)
    assert error_code(body) == "NOT_FOUND"
    assert (await gql(ME, token=other_buyer.token))["data"]["me"]["role"] == "BUYER"
    assert other_buyer.principal.buyer_id is not None
    created = await gql(
        KEY_CREATE,
        {"input": {"name": "sneaky", "buyerId": str(other_buyer.principal.buyer_id)}},
        token=buyer.token,
    )
    assert error_code(created) == "FORBIDDEN"
    listed = await gql(KEYS, {"buyerId": str(other_buyer.principal.buyer_id)}, token=buyer.token)
    assert error_code(listed) == "FORBIDDEN"


async def test_coordinator_manages_any_buyers_keys(
    gql: GraphQLClient, coordinator: Caller, buyer: Caller
) -> None:
    buyer_id = str(buyer.principal.buyer_id)
    created = await gql(
        KEY_CREATE, {"input": {"name": "from office", "buyerId": buyer_id}}, token=coordinator.token
    )
    assert created["data"]["apiKeyCreate"]["apiKey"]["buyerId"] == buyer_id
    keys = (await gql(KEYS, {"buyerId": buyer_id}, token=coordinator.token))["data"]["apiKeys"]
    assert len(keys) == 2
    revoked = await gql(KEY_REVOKE, {"id": keys[0]["id"]}, token=coordinator.token)
    assert revoked["data"]["apiKeyRevoke"]["errors"] == []
    assert error_code(await gql(ME, token=buyer.token)) == "UNAUTHENTICATED"


async def test_factory_owner_may_not_create_keys(gql: GraphQLClient, owner: Caller) -> None:
    assert error_code(await gql(KEY_CREATE, {"input": {"name": "x"}}, token=owner.token)) == "FORBIDDEN"
    assert error_code(await gql(KEY_CREATE, {"input": {"name": "x"}})) == "UNAUTHENTICATED"


async def test_key_name_validation_and_malformed_ids(gql: GraphQLClient, buyer: Caller) -> None:
    body = await gql(KEY_CREATE, {"input": {"name": "   "}}, token=buyer.token)
    assert body["data"]["apiKeyCreate"]["errors"] == [{"field": "name", "code": "REQUIRED"}]
    assert error_code(await gql(KEY_REVOKE, {"id": "not-a-uuid"}, token=buyer.token)) == "NOT_FOUND"


async def test_a_key_notes_its_last_use_once_a_minute_and_only_while_valid(
    pool: db.Pool, buyer: Caller, query_log: QueryLog
) -> None:
    assert buyer.principal.api_key_id is not None
    key_id = buyer.principal.api_key_id

    async def last_used() -> dt.datetime | None:
        async with pool.acquire() as conn:
            value: dt.datetime | None = await conn.fetchval(
                "SELECT last_used_at FROM api_keys WHERE id = $1", key_id
            )
            return value

    async def set_last_used(sql: str) -> None:
        async with pool.acquire() as conn:
            await conn.execute(f"UPDATE api_keys SET {sql} WHERE id = $1", key_id)

    async def use(now: dt.datetime | None = None) -> Principal:
        return await auth_service.principal_from_token(pool, f"Bearer {buyer.token}", now=now or utc_now())

    # given a key last used two minutes ago
    await set_last_used("last_used_at = now() - interval '2 minutes'")
    before = await last_used()
    # when it is used: one statement finds it and notes the use
    query_log.recording = True
    assert (await use()).role is Role.BUYER
    query_log.recording = False
    assert len(query_log.app_queries) == 1
    noted = await last_used()
    assert before is not None
    assert noted is not None
    assert noted > before
    # then a use within the minute writes nothing
    await use()
    assert await last_used() == noted
    # and an expired or revoked key is refused and not noted
    await set_last_used("last_used_at = now() - interval '2 minutes', expires_at = now() + interval '1 day'")
    stale = await last_used()
    assert (await use(utc_now() + dt.timedelta(days=2))).auth_error == "This API key has expired."
    await set_last_used("revoked_at = now()")
    assert (await use()).auth_error == "This API key is unknown or revoked."
    assert await last_used() == stale
