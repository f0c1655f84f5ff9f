"""Sign-in abuse, sessions and API key lineage (issue: safe in public)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from server import db
from server.app import create_app
from server.auth import service as auth_service
from server.auth.principal import ANONYMOUS
from server.settings import SessionPolicy, Settings
from tests.conftest import PASSWORD, Caller, GraphQLClient, error_code, make_buyer, utc_now

LOG_IN = """
mutation($email: String!, $password: String!) {
  accountLogIn(input: {email: $email, password: $password}) { token errors { code } }
}
"""
SIGN_UP = """
mutation($email: String!) {
  accountSignUp(input: {email: $email, password: "long enough password", displayName: "x"}) {
    token errors { field code }
  }
}
"""
KEY_CREATE = """
mutation($input: ApiKeyCreateInput!) {
  apiKeyCreate(input: $input) { apiKey { id expiresAt parentId } secret errors { field code } }
}
"""
KEY_REVOKE = "mutation($id: ID!) { apiKeyRevoke(id: $id) { apiKey { id revokedAt } errors { code } } }"
START = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)


class MovableClock:
    """A clock that tests move by hand."""

    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def now(self) -> dt.datetime:
        return self.at


@pytest.fixture
def moving_clock() -> MovableClock:
    return MovableClock(START)


@pytest.fixture
async def timed_gql(
    pool: db.Pool, tmp_path: Path, moving_clock: MovableClock
) -> AsyncIterator[GraphQLClient]:
    settings = Settings(database_url="unused", data_dir=tmp_path, env="dev", session_idle_hours=2)
    app = create_app(settings, pool=pool, clock=moving_clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        yield GraphQLClient(http)


async def _post_ascii(
    gql: GraphQLClient, query: str, variables: dict[str, Any], *, token: str | None = None
) -> dict[str, Any]:
    """Post JSON with non-ASCII escaped, as a client may send a lone surrogate (``\\ud800``)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    content = json.dumps({"query": query, "variables": variables}, ensure_ascii=True)
    response = await gql.http.post("/graphql", content=content, headers=headers)
    body: dict[str, Any] = response.json()
    return body


async def _log_in(gql: GraphQLClient, email: str, password: str) -> dict[str, Any]:
    return await gql(LOG_IN, {"email": email, "password": password})


# --- logins -------------------------------------------------------------------------------------------


async def test_failed_logins_back_off_per_account(
    timed_gql: GraphQLClient, coordinator: Caller, moving_clock: MovableClock
) -> None:
    email = "office@cluster.example"
    for _ in range(6):  # five free failures, the sixth starts a one-second back-off
        body = await _log_in(timed_gql, email, "wrong password")
        assert body["data"]["accountLogIn"]["errors"] == [{"code": "INVALID_CREDENTIALS"}]
    # even the right password waits now, and the answer says how long
    locked = await _log_in(timed_gql, email, PASSWORD)
    assert error_code(locked) == "RATE_LIMITED"
    assert locked["errors"][0]["extensions"]["retryAfter"] == 1
    # after the wait, the right password works and clears the count
    moving_clock.at += dt.timedelta(seconds=1)
    assert (await _log_in(timed_gql, email, PASSWORD))["data"]["accountLogIn"]["token"]
    assert (await _log_in(timed_gql, email, "wrong password"))["data"]["accountLogIn"]["errors"]
    assert (await _log_in(timed_gql, email, PASSWORD))["data"]["accountLogIn"]["token"]


async def test_the_back_off_doubles(
    timed_gql: GraphQLClient, coordinator: Caller, moving_clock: MovableClock
) -> None:
    email = "office@cluster.example"
    waits: list[int] = []
    for _ in range(20):
        if len(waits) == 4:
            break
        body = await _log_in(timed_gql, email, "wrong password")
        if error_code(body) == "RATE_LIMITED":
            wait = body["errors"][0]["extensions"]["retryAfter"]
            waits.append(wait)
            moving_clock.at += dt.timedelta(seconds=wait)
    assert waits == [1, 2, 4, 8]


async def test_unknown_accounts_are_throttled_like_known_ones(timed_gql: GraphQLClient) -> None:
    for _ in range(6):
        await _log_in(timed_gql, "nobody@example.com", "wrong password")
    assert error_code(await _log_in(timed_gql, "nobody@example.com", "wrong password")) == "RATE_LIMITED"


async def test_one_client_address_cannot_try_many_accounts(timed_gql: GraphQLClient) -> None:
    # 20 failures from one address are free; then the address waits, whatever account it names
    for i in range(21):
        await _log_in(timed_gql, f"user{i}@example.com", "wrong password")
    assert error_code(await _log_in(timed_gql, "fresh@example.com", "wrong password")) == "RATE_LIMITED"


async def test_one_sign_in_per_request(gql: GraphQLClient, coordinator: Caller) -> None:
    aliased = (
        "mutation {"
        + " ".join(
            f'a{i}: accountLogIn(input: {{email: "office@cluster.example", password: "guess{i}"}}) '
            "{ token }"
            for i in range(20)
        )
        + "}"
    )
    body = await gql(aliased)
    # the first alias checked its password; the second was refused unchecked, and (the payload being
    # non-null) that ended the operation: one argon2 verification for the whole request
    assert [e["extensions"]["code"] for e in body["errors"]] == ["RATE_LIMITED"]
    assert body["errors"][0]["path"] == ["a1"]


@pytest.mark.parametrize("email", ["owner\x00@koba.example", "owner\ud800@koba.example"])
async def test_unstorable_emails_are_input_errors(
    gql: GraphQLClient, coordinator: Caller, email: str
) -> None:
    login = await _post_ascii(gql, LOG_IN, {"email": email, "password": "whatever it is"})
    assert login["data"]["accountLogIn"]["errors"] == [{"code": "INVALID_CREDENTIALS"}]
    signup = await _post_ascii(gql, SIGN_UP, {"email": email})
    assert signup["data"]["accountSignUp"]["errors"] == [{"field": "email", "code": "INVALID"}]
    onboard = await _post_ascii(
        gql,
        """mutation($email: String) { buyerOnboard(input: {name: "N", country: "US", currency: "USD",
           contactEmail: $email}) { errors { field code } } }""",
        {"email": email},
        token=coordinator.token,
    )
    assert onboard["data"]["buyerOnboard"]["errors"] == [{"field": "contactEmail", "code": "INVALID"}]


async def test_sign_ups_that_hit_existing_addresses_are_throttled(timed_gql: GraphQLClient) -> None:
    assert (await timed_gql(SIGN_UP, {"email": "taken@koba.example"}))["data"]["accountSignUp"]["token"]
    for _ in range(21):  # 20 free, the 21st starts the back-off
        body = await timed_gql(SIGN_UP, {"email": "taken@koba.example"})
        assert body["data"]["accountSignUp"]["errors"] == [{"field": "email", "code": "ALREADY_EXISTS"}]
    assert error_code(await timed_gql(SIGN_UP, {"email": "taken@koba.example"})) == "RATE_LIMITED"


# --- sessions -----------------------------------------------------------------------------------------


async def test_a_session_ends_after_the_idle_timeout(
    timed_gql: GraphQLClient, coordinator: Caller, moving_clock: MovableClock
) -> None:
    token = (await _log_in(timed_gql, "office@cluster.example", PASSWORD))["data"]["accountLogIn"]["token"]
    moving_clock.at += dt.timedelta(hours=1, minutes=59)
    assert (await timed_gql("{ me { role } }", token=token))["data"]["me"]["role"] == "COORDINATOR"
    # used just now: the idle time starts again
    moving_clock.at += dt.timedelta(hours=1, minutes=59)
    assert "errors" not in await timed_gql("{ me { role } }", token=token)
    moving_clock.at += dt.timedelta(hours=2)
    idle = await timed_gql("{ me { role } }", token=token)
    assert error_code(idle) == "UNAUTHENTICATED"
    assert "idle" in idle["errors"][0]["message"]


async def test_a_person_holds_a_bounded_number_of_sessions(pool: db.Pool, coordinator: Caller) -> None:
    policy = SessionPolicy(per_user=3)
    # after the coordinator fixture's own session (made at the real time), which is the oldest of six
    start = utc_now()
    anonymous = ANONYMOUS
    tokens = []
    for minute in range(5):
        signed = await auth_service.log_in(
            pool,
            anonymous,
            email="office@cluster.example",
            password=PASSWORD,
            now=start + dt.timedelta(minutes=minute),
            sessions=policy,
        )
        tokens.append(signed.token)
    now = start + dt.timedelta(minutes=10)
    alive = [
        (await auth_service.principal_from_token(pool, f"Bearer {t}", now=now, sessions=policy)).auth_error
        is None
        for t in tokens
    ]
    assert alive == [False, False, True, True, True]
    # signing in deleted the ended ones; once the three others expire, the purge deletes them
    later = start + dt.timedelta(days=15)
    assert await auth_service.purge_sessions(pool, now=later, sessions=policy) == 3


# --- API keys -----------------------------------------------------------------------------------------


async def _create_key(gql: GraphQLClient, token: str, **fields: Any) -> dict[str, Any]:
    body = await gql(KEY_CREATE, {"input": {"name": "k", **fields}}, token=token)
    payload: dict[str, Any] = body["data"]["apiKeyCreate"]
    return payload


async def test_a_key_cannot_outlive_the_key_that_creates_it(
    timed_gql: GraphQLClient, coordinator: Caller, pool: db.Pool
) -> None:
    buyer = await make_buyer(pool, coordinator, "Acme Robotics")
    limited = await _create_key(timed_gql, buyer.token, expiresAt="2026-12-31T00:00:00+00:00")
    assert limited["errors"] == []
    # a child inherits the expiry, or asks for an earlier one, never a later one
    inherited = await _create_key(timed_gql, limited["secret"])
    assert inherited["apiKey"]["expiresAt"] == "2026-12-31T00:00:00+00:00"
    assert inherited["apiKey"]["parentId"] == limited["apiKey"]["id"]
    later = await _create_key(timed_gql, limited["secret"], expiresAt="2027-06-01T00:00:00+00:00")
    assert later["errors"] == [{"field": "expiresAt", "code": "OUT_OF_RANGE"}]
    past = await _create_key(timed_gql, buyer.token, expiresAt="2026-01-01T00:00:00+00:00")
    assert past["errors"] == [{"field": "expiresAt", "code": "DATE_IN_PAST"}]


async def test_an_expired_key_stops_working(
    timed_gql: GraphQLClient, coordinator: Caller, pool: db.Pool, moving_clock: MovableClock
) -> None:
    buyer = await make_buyer(pool, coordinator, "Acme Robotics")
    key = await _create_key(timed_gql, buyer.token, expiresAt="2026-12-01T00:00:00+00:00")
    assert "errors" not in await timed_gql("{ me { role } }", token=key["secret"])
    moving_clock.at = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    assert error_code(await timed_gql("{ me { role } }", token=key["secret"])) == "UNAUTHENTICATED"


async def test_revoking_a_key_revokes_its_children_and_keys_cannot_revoke_parents_or_siblings(
    gql: GraphQLClient, coordinator: Caller, pool: db.Pool
) -> None:
    buyer = await make_buyer(pool, coordinator, "Acme Robotics")
    parent = await _create_key(gql, buyer.token)
    child = await _create_key(gql, parent["secret"])
    grandchild = await _create_key(gql, child["secret"])
    sibling = await _create_key(gql, buyer.token)
    # a key may not revoke its parent or a sibling
    for victim in (parent, sibling):
        refused = await gql(KEY_REVOKE, {"id": victim["apiKey"]["id"]}, token=child["secret"])
        assert error_code(refused) == "FORBIDDEN"
    # revoking the parent ends its whole lineage, and nothing else
    await gql(KEY_REVOKE, {"id": parent["apiKey"]["id"]}, token=parent["secret"])
    for gone in (parent, child, grandchild):
        assert error_code(await gql("{ me { role } }", token=gone["secret"])) == "UNAUTHENTICATED"
    assert "errors" not in await gql("{ me { role } }", token=sibling["secret"])
    assert "errors" not in await gql("{ me { role } }", token=buyer.token)


# --- who the buyer is ---------------------------------------------------------------------------------


async def test_owners_cannot_list_rfqs_by_buyer_whatever_the_id(
    gql: GraphQLClient, owner: Caller, buyer: Caller, coordinator: Caller
) -> None:
    me = await gql("{ me { buyer { id } } }", token=buyer.token)
    real_id = me["data"]["me"]["buyer"]["id"]
    query = "query($b: ID) { rfqs(filter: {buyerId: $b}) { totalCount } }"
    for buyer_id in (real_id, "00000000-0000-0000-0000-000000000000"):
        body = await gql(query, {"b": buyer_id}, token=owner.token)
        assert error_code(body) == "FORBIDDEN"
        assert body["errors"][0]["message"] == "Only buyers and coordinators may list RFQs by buyer."
    for allowed in (coordinator, buyer):
        assert "errors" not in await gql(query, {"b": real_id}, token=allowed.token)
