"""Cost limits: each abusive request of the security review is refused quickly with a coded error.

The attacks run at the review's sizes where they are cheap to build (aliases, directives, bodies); every
limit is also tried alone, with the others raised, so each refusal is shown to work by itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import get_introspection_query, parse

from schema.limits import query_cost
from schema.schema import build_schema
from server import db
from server.app import create_app
from server.errors import LIMIT_ERRORS, SERVICE_ERRORS, BadRequest
from server.settings import Settings, SettingsError
from tests.conftest import Caller

FACTORIES_PAGE = "factories(first: 100) { edges { node { capabilities { process { nameEn } } } } }"
FACTORY_CAPACITY = 'factory(id: "00000000-0000-0000-0000-000000000000") { capacity(weeks: 104) { hours } }'
README_QUERY = """
query OtaFiveAxis {
  factories(filter: {cluster: "Ota", processCode: "five_axis_machining"}, first: 10) {
    totalCount
    edges { node { nameJa nameEn city
      capabilities { process { nameEn } materials bestToleranceUm maxEnvelopeMm } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
# Every other limit raised far out of the way, to try one limit alone.
LOOSE = {
    "max_body_bytes": 50_000_000,
    "max_query_tokens": 10_000_000,
    "max_aliases": 1_000_000,
    "max_root_fields": 1_000_000,
    "max_query_cost": 1_000_000_000,
}
# "A clear error within 100 ms" on the review's server; tests allow for a slow shared test machine.


@pytest.fixture
def client(pool: db.Pool, tmp_path: Path) -> Callable[..., httpx.AsyncClient]:
    """An HTTP client of an app with the given settings (dev unless ``env`` says otherwise)."""

    def make(**overrides: Any) -> httpx.AsyncClient:
        settings = Settings(database_url="unused", data_dir=tmp_path, env="dev", **overrides)
        app = create_app(settings, pool=pool)
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")

    return make


async def post(http: httpx.AsyncClient, query: str, **kwargs: Any) -> httpx.Response:
    # Only what comes back is asserted: how fast a refusal is, is measured by bench/abuse.py.
    return await http.post("/graphql", json={"query": query}, **kwargs)


def codes(response: httpx.Response) -> list[str]:
    return [e["extensions"]["code"] for e in response.json()["errors"]]


def aliased(field: str, count: int) -> str:
    return "{ " + " ".join(f"a{i}: {field}" for i in range(count)) + " }"


# --- the review's attacks, with the default limits ----------------------------------------------------


async def test_a_thousand_aliased_factory_pages_are_refused(client: Any) -> None:
    async with client() as http:
        response = await post(http, aliased(FACTORIES_PAGE, 1000))
    assert codes(response) == ["QUERY_TOO_LARGE"]  # 30 000 tokens: not even parsed


async def test_a_hundred_aliased_capacity_grids_are_refused(client: Any) -> None:
    async with client() as http:
        response = await post(http, aliased(FACTORY_CAPACITY, 100))
    assert set(codes(response)) == {"TOO_MANY_ALIASES", "TOO_MANY_ROOT_FIELDS"}
    aliases = response.json()["errors"][0]["extensions"]
    assert aliases == {"code": "TOO_MANY_ALIASES", "count": 100, "limit": 30}


async def test_a_10_mb_typename_query_is_refused_by_its_size(client: Any) -> None:
    query = "{" + " __typename" * 1_000_000 + "}"
    async with client() as http:
        response = await http.post(
            "/graphql", content=query.encode(), headers={"content-type": "application/json"}
        )
    assert response.status_code == 413
    assert response.json() == {
        "errors": [
            {
                "message": "The request body is larger than 1048576 bytes.",
                "extensions": {"code": "REQUEST_TOO_LARGE", "limit": 1_048_576},
            }
        ]
    }


async def test_a_100_mb_body_is_refused_by_its_declared_length(client: Any) -> None:
    async def never_sent() -> AsyncIterator[bytes]:
        raise AssertionError("the body must not be read")
        yield b""  # pragma: no cover

    async with client() as http:
        response = await http.post(
            "/graphql",
            content=never_sent(),
            headers={"content-type": "application/json", "content-length": str(100 * 1024 * 1024)},
        )
    assert response.status_code == 413
    assert codes(response) == ["REQUEST_TOO_LARGE"]


async def test_a_streamed_100_mb_body_is_refused_after_the_limit(client: Any) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        # 100 MB in 64 KiB chunks, made one at a time: the test never holds more than one chunk either.
        nonlocal sent
        chunk = b" " * 65536
        for _ in range(1600):
            sent += len(chunk)
            yield chunk

    async with client() as http:
        response = await http.post("/graphql", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert codes(response) == ["REQUEST_TOO_LARGE"]
    assert sent <= 1_048_576 + 65536  # the server stopped reading at the limit


async def test_a_hundred_thousand_directives_are_refused(client: Any) -> None:
    query = "{ __typename" + " @skip(if: false)" * 100_000 + " }"
    async with client() as http:
        response = await post(http, query)
        assert response.status_code == 413  # 1.7 MB
        async with client(max_body_bytes=10_000_000) as roomy:
            response = await post(roomy, query)
    assert codes(response) == ["QUERY_TOO_LARGE"]
    assert response.json()["errors"][0]["extensions"] == {"code": "QUERY_TOO_LARGE", "limit": 2000}


async def test_duplicated_fields_are_refused(client: Any) -> None:
    review_size = "{" + " __typename" * 100_000 + " }"  # 1.1 MB
    async with client() as http, client(max_body_bytes=10_000_000) as roomy:
        for server, query, expected in [
            (http, review_size, "REQUEST_TOO_LARGE"),
            (roomy, review_size, "QUERY_TOO_LARGE"),
            (http, "{" + " __typename" * 1_900 + " }", "TOO_MANY_ROOT_FIELDS"),  # under the token limit
        ]:
            response = await post(server, query)
            assert codes(response) == [expected]


async def test_duplicated_nested_fields_under_the_token_limit_validate_quickly(client: Any) -> None:
    # The largest document of one repeated field the token limit lets through. Checking that fields merge
    # is quadratic; graphql-core stops it at a work budget.
    query = "{ me {" + " role" * 1_990 + " } }"
    async with client() as http:
        response = await post(http, query)
    assert response.json()["errors"][0]["extensions"] == {"code": "QUERY_TOO_COMPLEX", "limit": 20_000}


# --- each limit alone -----------------------------------------------------------------------------------


async def test_aliases_are_limited(client: Any) -> None:
    async with client(**{**LOOSE, "max_aliases": 5}) as http:
        ok = await post(http, aliased("__typename", 5))
        refused = await post(http, aliased("__typename", 6))
    assert "errors" not in ok.json()
    assert refused.json()["errors"][0]["extensions"] == {"code": "TOO_MANY_ALIASES", "count": 6, "limit": 5}


async def test_depth_is_limited_with_a_code(client: Any) -> None:
    # Depth counts from 0 at the root fields: factories (0) edges node capabilities process code (5).
    # Anonymous: a document within the limit passes validation and meets the sign-in check; one over it is
    # refused before that.
    query = "{ factories(first: 1) { edges { node { capabilities { process { code } } } } } }"
    async with client(**{**LOOSE, "max_depth": 5}) as http:
        ok = await post(http, query)
    async with client(**{**LOOSE, "max_depth": 4}) as http:
        refused = await post(http, query)
    assert codes(ok) == ["UNAUTHENTICATED"]
    assert refused.json()["errors"] == [
        {
            "message": "The operation nests fields deeper than 4 levels.",
            "locations": [{"line": 1, "column": 65}],  # the field too deep: `code`
            "extensions": {"code": "QUERY_TOO_DEEP", "limit": 4},
        }
    ]


async def test_root_fields_are_limited_through_fragments_too(client: Any) -> None:
    query = "query { me { role } ...More } fragment More on Query { materials { code } prefectures { code } }"
    async with client(**{**LOOSE, "max_root_fields": 2}) as http:
        refused = await post(http, query)
    assert refused.json()["errors"][0]["extensions"] == {
        "code": "TOO_MANY_ROOT_FIELDS",
        "count": 3,
        "limit": 2,
    }


async def test_a_thousand_factory_pages_cost_too_much(client: Any) -> None:
    # No time limit asserted here: with the token and alias limits raised, the whole document is parsed and
    # validated first (the default limits refuse it before; see above).
    async with client(**{**LOOSE, "max_query_cost": 10_000}) as http:
        response = await post(http, aliased(FACTORIES_PAGE, 1000))
    assert response.json()["data"] is None
    assert response.json()["errors"][0]["extensions"] == {
        "code": "QUERY_TOO_COSTLY",
        "cost": 2_301_000,
        "limit": 10_000,
    }


async def test_a_hundred_capacity_grids_cost_too_much(client: Any) -> None:
    async with client(**{**LOOSE, "max_query_cost": 10_000}) as http:
        response = await post(http, aliased(FACTORY_CAPACITY, 100))
    assert response.json()["errors"][0]["extensions"] == {
        "code": "QUERY_TOO_COSTLY",
        "cost": 104_200,
        "limit": 10_000,
    }


async def test_cost_counts_page_sizes_from_variables_and_defaults() -> None:
    schema = build_schema(mask_errors=False)._schema
    query = "query($n: Int = 50) { factories(first: $n) { edges { node { nameEn } } } }"
    document = parse(query)
    operation = document.definitions[0]
    assert query_cost(schema, document, operation, {}) == 1 + 50 * (1 + (1 + 1))  # type: ignore[arg-type]
    assert query_cost(schema, document, operation, {"n": 5}) == 1 + 5 * 3  # type: ignore[arg-type]
    document = parse("{ factories { totalCount } }")
    assert query_cost(schema, document, document.definitions[0], {}) == 1 + 20 * 1  # type: ignore[arg-type]
    # a nested list without a size argument counts as ten items; capacity as ten rows per week
    document = parse('{ factory(id: "x") { capabilities { materials } capacity { hours } } }')
    assert query_cost(schema, document, document.definitions[0], {}) == 1 + (1 + 10 * 1) + (1 + 120 * 1)  # type: ignore[arg-type]


async def test_the_same_page_size_in_a_variable_is_refused_too(client: Any) -> None:
    query = f"query($n: Int) {{ {FACTORIES_PAGE.replace('100', '$n')} }}"
    async with client(max_query_cost=2000) as http:
        small = await http.post("/graphql", json={"query": query, "variables": {"n": 10}})
        large = await http.post("/graphql", json={"query": query, "variables": {"n": 100}})
    assert "QUERY_TOO_COSTLY" not in [e["extensions"]["code"] for e in small.json()["errors"]]
    assert codes(large) == ["QUERY_TOO_COSTLY"]


async def test_execution_is_stopped_at_the_timeout(client: Any, owner: Caller) -> None:
    async with client(request_timeout_s=0.000_001) as http:
        response = await post(
            http,
            "{ factories(first: 100) { totalCount } }",
            headers={"Authorization": f"Bearer {owner.token}"},
        )
    assert response.json() == {
        "data": None,
        "errors": [
            {
                "message": "The operation ran longer than 1e-06 s; it was stopped.",
                "extensions": {"code": "TIMEOUT", "limit": 0.000_001},
            }
        ],
    }


# --- normal use stays possible --------------------------------------------------------------------------


async def test_the_readme_query_and_introspection_pass_the_default_limits(client: Any, owner: Caller) -> None:
    async with client() as http:
        readme = await post(http, README_QUERY, headers={"Authorization": f"Bearer {owner.token}"})
        introspection = await post(http, get_introspection_query(descriptions=True))
        page = "factories(first: 100) { edges { node { nameEn capabilities { materials } } } }"
        biggest_page = await post(http, f"{{ {page} }}", headers={"Authorization": f"Bearer {owner.token}"})
    # past every limit to the resolver, which finds no Ota cluster in this empty registry
    assert readme.json()["errors"][0]["extensions"]["errors"][0]["code"] == "UNKNOWN_CLUSTER"
    assert "errors" not in introspection.json()
    assert "errors" not in biggest_page.json()


async def test_limits_hold_under_concurrent_abuse(client: Any) -> None:
    async with client() as http:
        responses = await asyncio.gather(*(post(http, aliased(FACTORY_CAPACITY, 100)) for _ in range(50)))
    assert all("TOO_MANY_ALIASES" in codes(r) for r in responses)


# --- settings -------------------------------------------------------------------------------------------


def test_every_limit_is_read_from_the_environment(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "MACHIKOBA_DATA_DIR": str(tmp_path),
            "MACHIKOBA_MAX_BODY_BYTES": "2000",
            "MACHIKOBA_MAX_QUERY_TOKENS": "300",
            "MACHIKOBA_MAX_ALIASES": "4",
            "MACHIKOBA_MAX_ROOT_FIELDS": "5",
            "MACHIKOBA_MAX_DEPTH": "6",
            "MACHIKOBA_MAX_QUERY_COST": "700",
            "MACHIKOBA_REQUEST_TIMEOUT_S": "2.5",
            "MACHIKOBA_INTROSPECTION": "true",
        }
    )
    expected = replace(
        Settings(data_dir=tmp_path),
        max_body_bytes=2000,
        max_query_tokens=300,
        max_aliases=4,
        max_root_fields=5,
        max_depth=6,
        max_query_cost=700,
        request_timeout_s=2.5,
        introspection=True,
    )
    assert settings == expected
    defaults = Settings.from_env({"MACHIKOBA_DATA_DIR": str(tmp_path)})
    assert (defaults.max_body_bytes, defaults.max_query_tokens, defaults.max_query_cost) == (
        1_048_576,
        2000,
        10_000,
    )


def test_the_access_log_is_on_in_dev_off_in_prod_unless_set(tmp_path: Path) -> None:
    def access_log(**env: str) -> bool:
        return Settings.from_env({"MACHIKOBA_DATA_DIR": str(tmp_path), **env}).access_log_enabled

    assert access_log() is True
    assert access_log(MACHIKOBA_ENV="prod") is False
    assert access_log(MACHIKOBA_ENV="prod", MACHIKOBA_ACCESS_LOG="1") is True
    assert access_log(MACHIKOBA_ACCESS_LOG="off") is False


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MACHIKOBA_MAX_BODY_BYTES", "1MB"),
        ("MACHIKOBA_MAX_QUERY_COST", "0"),
        ("MACHIKOBA_REQUEST_TIMEOUT_S", "-1"),
        ("MACHIKOBA_REQUEST_TIMEOUT_S", "nan"),
        ("MACHIKOBA_INTROSPECTION", "maybe"),
        ("MACHIKOBA_ACCESS_LOG", "maybe"),
    ],
)
def test_a_bad_limit_is_refused_at_start(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_each_limit_code_carries_its_description() -> None:
    assert [e.code for e in LIMIT_ERRORS] == [
        "REQUEST_TOO_LARGE",
        "QUERY_TOO_LARGE",
        "QUERY_TOO_COMPLEX",
        "QUERY_TOO_DEEP",
        "TOO_MANY_ALIASES",
        "TOO_MANY_ROOT_FIELDS",
        "QUERY_TOO_COSTLY",
        "TIMEOUT",
    ]
    for error in (*LIMIT_ERRORS, BadRequest):
        assert error in SERVICE_ERRORS
        assert error.description.endswith(".")
