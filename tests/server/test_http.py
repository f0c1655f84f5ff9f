"""GraphQL over HTTP conformance, input that used to reach the database as a 500, and the prod posture.

The graphql-http server audit cannot run here (no network): each of its rules that warned in the security
review (issue 9) is a test below, named by the rule's id, with the audit's own request.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from server import db
from server.app import create_app
from server.settings import Settings
from tests.conftest import Caller
from tests.rfqs.conftest import SHAFT, SUBMIT, rfq_input

GRAPHQL_RESPONSE = "application/graphql-response+json"
MODERN = {"accept": GRAPHQL_RESPONSE, "content-type": "application/json"}
LEGACY = {"accept": "application/json", "content-type": "application/json"}

MakeClient = Callable[..., httpx.AsyncClient]


@pytest.fixture
def client(pool: db.Pool, tmp_path: Path) -> MakeClient:
    def make(**overrides: Any) -> httpx.AsyncClient:
        settings = Settings(**{"database_url": "unused", "data_dir": tmp_path, "env": "dev", **overrides})
        app = create_app(settings, pool=pool)
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")

    return make


@pytest.fixture
async def http(client: MakeClient) -> AsyncIterator[httpx.AsyncClient]:
    async with client() as c:
        yield c


@pytest.fixture
async def prod(client: MakeClient) -> AsyncIterator[httpx.AsyncClient]:
    async with client(env="prod") as c:
        yield c


def assert_request_error(response: httpx.Response) -> dict[str, Any]:
    """The GraphQL-over-HTTP answer to a request that could not be executed: 400, the media type, no data."""
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    body: dict[str, Any] = response.json()
    assert "data" not in body
    assert body["errors"]
    return body


# --- GraphQL over HTTP ------------------------------------------------------------------------------


async def test_22EB_serves_graphql_response_json_when_accepted(http: httpx.AsyncClient) -> None:
    response = await http.post("/graphql", json={"query": "{ __typename }"}, headers=MODERN)
    assert response.status_code == 200
    assert response.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    assert response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize("audit", ["865D", "556A", "D586"])
async def test_json_parsing_failure_is_400_without_data(http: httpx.AsyncClient, audit: str) -> None:
    response = await http.post("/graphql", content=b'{ "not a JSON', headers=MODERN)
    body = assert_request_error(response)
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


@pytest.mark.parametrize("audit", ["51FE", "74FF", "5E5B"])
@pytest.mark.parametrize(
    "params",
    [{"qeury": "{ __typename }"}, {"query": 42}, {"query": "{ __typename }", "variables": "oops"}],
)
async def test_invalid_parameters_are_400_without_data(
    http: httpx.AsyncClient, audit: str, params: dict[str, Any]
) -> None:
    response = await http.post("/graphql", json=params, headers=MODERN)
    assert_request_error(response)


async def test_86EE_variable_coercion_failure_is_400(http: httpx.AsyncClient) -> None:
    query = "query CoerceMe($id: ID!) { factory(id: $id) { nameEn } }"
    response = await http.post(
        "/graphql", json={"query": query, "variables": {"id": {"x": 1}}}, headers=MODERN
    )
    body = assert_request_error(response)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    "query",
    ["{", "{ notAField }", "{ factory { nameEn } }", "query { a: me { role } a: materials { code } }"],
)
async def test_document_parse_and_validation_failures_are_400_without_data(
    http: httpx.AsyncClient, query: str
) -> None:
    assert_request_error(await http.post("/graphql", json={"query": query}, headers=MODERN))


async def test_a_limit_refusal_is_400_and_an_execution_error_is_200_with_data(
    client: MakeClient, owner: Caller
) -> None:
    async with client(max_aliases=1) as http:
        refused = await http.post(
            "/graphql", json={"query": "{ a: me { role } b: me { role } }"}, headers=MODERN
        )
        assert_request_error(refused)
        # a field error is a result, not a request error: 200 with data
        signed_in = {**MODERN, "authorization": f"Bearer {owner.token}"}
        unknown = await http.post("/graphql", json={"query": '{ rfq(id: "nope") { id } }'}, headers=signed_in)
    assert unknown.status_code == 200
    assert unknown.json()["data"] is None
    assert unknown.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_a_timeout_is_503_with_graphql_response_json(client: MakeClient, owner: Caller) -> None:
    async with client(request_timeout_s=0.000_001) as http:
        response = await http.post(
            "/graphql",
            json={"query": "{ factories { totalCount } }"},
            headers={**MODERN, "authorization": f"Bearer {owner.token}"},
        )
    assert response.status_code == 503
    assert response.json()["errors"][0]["extensions"]["code"] == "TIMEOUT"


@pytest.mark.parametrize("accept", ["application/json", "*/*", None])
async def test_application_json_clients_keep_status_200_and_data_null(
    http: httpx.AsyncClient, accept: str | None
) -> None:
    headers = {"content-type": "application/json", **({"accept": accept} if accept else {})}
    response = await http.post("/graphql", json={"query": "{ notAField }"}, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()["data"] is None
    ok = await http.post("/graphql", json={"query": "{ __typename }"}, headers=headers)
    assert ok.json() == {"data": {"__typename": "Query"}}


async def test_graphql_response_json_refused_with_q0_falls_back_to_json(http: httpx.AsyncClient) -> None:
    headers = {"accept": f"{GRAPHQL_RESPONSE};q=0, application/json", "content-type": "application/json"}
    response = await http.post("/graphql", json={"query": "{ notAField }"}, headers=headers)
    assert (response.status_code, response.headers["content-type"]) == (200, "application/json")


async def test_a_bad_variable_gets_its_real_message_in_prod(prod: httpx.AsyncClient, buyer: Caller) -> None:
    variables = {"input": rfq_input(lines=[{**SHAFT, "targetUnitPrice": "abc"}])}
    response = await prod.post(
        "/graphql",
        json={"query": SUBMIT, "variables": variables},
        headers={**LEGACY, "authorization": f"Bearer {buyer.token}"},
    )
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    assert "targetUnitPrice" in error["message"]
    assert "Unexpected error" not in error["message"]


# --- input that used to be a 500 ---------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"1", b'"a string"', b"null", b"true"])
async def test_a_json_body_that_is_not_an_object_is_400(http: httpx.AsyncClient, content: bytes) -> None:
    for headers in (LEGACY, MODERN):
        response = await http.post("/graphql", content=content, headers=headers)
        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


@pytest.mark.parametrize("price", ["1E+1000000", "-1E+1000000", "1E-1000000", "NaN", "Infinity"])
async def test_an_absurd_target_price_is_a_payload_error(
    http: httpx.AsyncClient, buyer: Caller, price: str
) -> None:
    variables = {"input": rfq_input(lines=[{**SHAFT, "targetUnitPrice": price}])}
    signed_in = {"authorization": f"Bearer {buyer.token}"}
    response = await http.post("/graphql", json={"query": SUBMIT, "variables": variables}, headers=signed_in)
    payload = response.json()["data"]["rfqSubmit"]
    assert payload["rfq"] is None
    assert {e["field"] for e in payload["errors"]} == {"lines.0.targetUnitPrice"}


async def test_a_target_price_as_a_huge_json_number_is_refused(
    http: httpx.AsyncClient, buyer: Caller
) -> None:
    variables = json.dumps({"input": rfq_input()}).replace('"12.50"', "1E+1000000")
    response = await http.post(
        "/graphql",
        content=json.dumps({"query": SUBMIT}).encode()[:-1] + b', "variables": ' + variables.encode() + b"}",
        headers={**LEGACY, "authorization": f"Bearer {buyer.token}"},
    )
    body = response.json()
    assert response.status_code == 200
    errors = body.get("errors") or body["data"]["rfqSubmit"]["errors"]
    assert errors


def cursor(*key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "after",
    [
        cursor("99999-01-01T00:00:00+00:00", "00000000-0000-0000-0000-000000000000"),
        cursor("0001-01-01T00:00:00+14:00", "00000000-0000-0000-0000-000000000000"),
        cursor("9999-12-31T23:59:59-14:00", "00000000-0000-0000-0000-000000000000"),
        cursor("2026-01-01T00:00:00+00:00", "not-a-uuid"),
        cursor(1e308, 5),
    ],
)
async def test_an_out_of_range_rfq_cursor_is_bad_user_input(
    http: httpx.AsyncClient, buyer: Caller, after: str
) -> None:
    query = "query($after: String) { rfqs(after: $after) { edges { cursor } } }"
    signed_in = {"authorization": f"Bearer {buyer.token}"}
    response = await http.post(
        "/graphql", json={"query": query, "variables": {"after": after}}, headers=signed_in
    )
    body = response.json()
    assert body.get("errors") is None or body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body


# --- prod posture --------------------------------------------------------------------------------------

INTROSPECTION = "{ __schema { queryType { name } } }"


async def test_introspection_is_off_in_prod_unless_turned_on(client: MakeClient) -> None:
    async with client(env="prod") as prod, client(env="prod", introspection=True) as opened, client() as dev:
        refused = await prod.post("/graphql", json={"query": INTROSPECTION})
        allowed = await opened.post("/graphql", json={"query": INTROSPECTION})
        in_dev = await dev.post("/graphql", json={"query": INTROSPECTION})
    assert "introspection" in refused.json()["errors"][0]["message"].lower()
    assert allowed.json() == in_dev.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


async def test_field_suggestions_are_hidden_in_prod(http: httpx.AsyncClient, prod: httpx.AsyncClient) -> None:
    query = {"query": "{ factorie { nameEn } }"}
    assert "Did you mean" in (await http.post("/graphql", json=query)).text
    hidden = await prod.post("/graphql", json=query)
    assert hidden.json()["errors"]
    assert "Did you mean" not in hidden.text
    enum_variable = {
        "query": "query($c: ProcessCategory) { processes(category: $c) { code } }",
        "variables": {"c": "MACHINIG"},
    }
    assert "Did you mean" in (await http.post("/graphql", json=enum_variable)).text
    assert "Did you mean" not in (await prod.post("/graphql", json=enum_variable)).text


async def test_graphiql_is_off_in_prod(http: httpx.AsyncClient, prod: httpx.AsyncClient) -> None:
    assert "graphiql" in (await http.get("/graphql", headers={"accept": "text/html"})).text.lower()
    page = await prod.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 404


def test_prod_allows_only_the_cors_origins_listed(tmp_path: Path) -> None:
    base = {"MACHIKOBA_DATA_DIR": str(tmp_path)}
    assert Settings.from_env({**base, "MACHIKOBA_ENV": "prod"}).cors_origins == ()
    assert Settings.from_env(base).cors_origins == ("http://localhost:5173", "http://127.0.0.1:5173")
    listed = Settings.from_env(
        {**base, "MACHIKOBA_ENV": "prod", "MACHIKOBA_CORS_ORIGINS": "https://a.example"}
    )
    assert listed.cors_origins == ("https://a.example",)


async def test_prod_app_without_origins_answers_no_cors(client: MakeClient, tmp_path: Path) -> None:
    settings = Settings.from_env({"MACHIKOBA_DATA_DIR": str(tmp_path), "MACHIKOBA_ENV": "prod"})
    async with client(env="prod", cors_origins=settings.cors_origins) as prod:
        response = await prod.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"origin": "http://localhost:5173"}
        )
    assert "access-control-allow-origin" not in response.headers


async def test_security_headers(http: httpx.AsyncClient, owner: Caller) -> None:
    anonymous = await http.post("/graphql", json={"query": "{ __typename }"})
    signed_in = await http.post(
        "/graphql", json={"query": "{ me { role } }"}, headers={"authorization": f"Bearer {owner.token}"}
    )
    health = await http.get("/healthz")
    too_large = await http.post("/graphql", content=b" " * 2_000_000, headers={"authorization": "Bearer x"})
    for response in (anonymous, signed_in, health, too_large):
        assert response.headers["x-content-type-options"] == "nosniff"
    assert signed_in.headers["cache-control"] == "no-store"
    assert too_large.headers["cache-control"] == "no-store"
    assert "cache-control" not in anonymous.headers
