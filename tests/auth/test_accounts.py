"""Sign-up, log-in, log-out and tokens."""

from __future__ import annotations

from server import db
from tests.conftest import Caller, GraphQLClient, error_code

SIGN_UP = """
mutation($input: AccountSignUpInput!) {
  accountSignUp(input: $input) { token user { email role } errors { field code message } }
}
"""
LOG_IN = """
mutation($input: AccountLogInInput!) {
  accountLogIn(input: $input) { token user { email role } errors { field code message } }
}
"""
LOG_OUT = "mutation { accountLogOut { ok errors { code } } }"
ME = "query { me { role user { email } buyer { name country } } }"


async def test_sign_up_then_me(gql: GraphQLClient) -> None:
    # given / when
    body = await gql(SIGN_UP, {"input": {"email": " Sato@Koba.example", "password": "long enough pw"}})
    # then
    payload = body["data"]["accountSignUp"]
    assert payload["errors"] == []
    assert payload["user"] == {"email": "sato@koba.example", "role": "FACTORY_OWNER"}
    me = await gql(ME, token=payload["token"])
    assert me["data"]["me"] == {
        "role": "FACTORY_OWNER",
        "user": {"email": "sato@koba.example"},
        "buyer": None,
    }


async def test_sign_up_rejects_bad_input_and_writes_nothing(gql: GraphQLClient, pool: object) -> None:
    body = await gql(SIGN_UP, {"input": {"email": "not-an-email", "password": "short"}})
    payload = body["data"]["accountSignUp"]
    assert payload["token"] is None
    assert {(e["field"], e["code"]) for e in payload["errors"]} == {
        ("email", "INVALID"),
        ("password", "WEAK_PASSWORD"),
    }


async def test_sign_up_twice_is_already_exists(gql: GraphQLClient) -> None:
    variables = {"input": {"email": "dup@koba.example", "password": "long enough pw"}}
    await gql(SIGN_UP, variables)
    body = await gql(SIGN_UP, variables)
    assert body["data"]["accountSignUp"]["errors"][0]["code"] == "ALREADY_EXISTS"


async def test_log_in_wrong_password_is_invalid_credentials(gql: GraphQLClient, owner: Caller) -> None:
    body = await gql(LOG_IN, {"input": {"email": "owner1@koba.example", "password": "wrong password"}})
    payload = body["data"]["accountLogIn"]
    assert payload["token"] is None
    assert payload["errors"][0]["code"] == "INVALID_CREDENTIALS"
    unknown = await gql(LOG_IN, {"input": {"email": "nobody@koba.example", "password": "wrong password"}})
    assert unknown["data"]["accountLogIn"]["errors"][0]["message"] == payload["errors"][0]["message"]


async def test_log_in_coordinator(gql: GraphQLClient, coordinator: Caller) -> None:
    body = await gql(
        LOG_IN, {"input": {"email": "office@cluster.example", "password": "correct horse battery"}}
    )
    assert body["data"]["accountLogIn"]["user"]["role"] == "COORDINATOR"


async def test_log_out_ends_the_session(gql: GraphQLClient, owner: Caller) -> None:
    body = await gql(LOG_OUT, token=owner.token)
    assert body["data"]["accountLogOut"] == {"ok": True, "errors": []}
    after = await gql(ME, token=owner.token)
    assert error_code(after) == "UNAUTHENTICATED"


async def test_log_out_anonymous_is_unauthenticated(gql: GraphQLClient) -> None:
    assert error_code(await gql(LOG_OUT)) == "UNAUTHENTICATED"


async def test_malformed_token_is_unauthenticated(gql: GraphQLClient) -> None:
    for header_token in ["garbage", "mks_short", "mkb_" + "x" * 43]:
        body = await gql(ME, token=header_token)
        assert error_code(body) == "UNAUTHENTICATED", header_token


async def test_anonymous_me(gql: GraphQLClient) -> None:
    body = await gql(ME)
    assert body["data"]["me"]["role"] == "ANONYMOUS"


async def test_signed_in_owner_cannot_sign_up_again(gql: GraphQLClient, owner: Caller) -> None:
    body = await gql(
        SIGN_UP, {"input": {"email": "x@koba.example", "password": "long enough pw"}}, token=owner.token
    )
    assert error_code(body) == "FORBIDDEN"


async def test_expired_session_is_unauthenticated(gql: GraphQLClient, owner: Caller, pool: db.Pool) -> None:
    # given a session whose expiry has passed
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE auth_sessions"
            " SET created_at = now() - interval '2 days', expires_at = now() - interval '1 day'"
        )
    # when it is used, then it is refused with a reason
    body = await gql(ME, token=owner.token)
    assert error_code(body) == "UNAUTHENTICATED"
    assert "expired" in body["errors"][0]["message"]
