"""The HTTP surface: CORS, health, malformed requests, error masking in production."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from server import db
from server.app import create_app
from server.settings import Settings, SettingsError
from tests.conftest import GraphQLClient


@pytest.fixture
async def http(pool: db.Pool, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, pool=pool)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield client


async def test_healthz(http: httpx.AsyncClient) -> None:
    response = await http.get("/healthz")
    assert response.json() == {"status": "ok"}


async def test_cors_preflight_allows_configured_origin_only(http: httpx.AsyncClient) -> None:
    headers = {
        "Origin": "http://localhost:5173",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    allowed = await http.options("/graphql", headers=headers)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "http://localhost:5173"
    # bearer tokens, not cookies: no credentials mode
    assert "access-control-allow-credentials" not in allowed.headers
    denied = await http.options("/graphql", headers={**headers, "Origin": "https://evil.example"})
    assert denied.status_code == 400
    assert "access-control-allow-origin" not in denied.headers


@pytest.mark.parametrize(
    "content",
    [b"{not json", b'{"query": 42}', b"[]", b'{"query": "{ me { role } }", "variables": "oops"}'],
)
async def test_malformed_requests_are_client_errors(http: httpx.AsyncClient, content: bytes) -> None:
    response = await http.post("/graphql", content=content, headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500


async def test_syntax_and_type_errors_come_back_as_graphql_errors(gql: GraphQLClient) -> None:
    body = await gql("{ me { role ")
    assert body["errors"]
    body = await gql("query($id: ID!) { apiKeyRevoke(id: $id) { errors { code } } }", {"id": 3})
    assert body["errors"]


async def test_production_hides_graphiql_and_keeps_coded_errors(pool: db.Pool, tmp_path: Path) -> None:
    settings = Settings(database_url="unused", data_dir=tmp_path, env="prod")
    app = create_app(settings, pool=pool)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        # GraphiQL is a dev tool only
        page = await http.get("/graphql", headers={"accept": "text/html"})
        assert page.status_code != 200 or "graphiql" not in page.text.lower()
        coded = await http.post("/graphql", json={"query": "{ buyers { name } }"})
        assert coded.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_settings_from_environment(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "MACHIKOBA_DATA_DIR": str(tmp_path),
            "MACHIKOBA_ENV": "prod",
            "MACHIKOBA_PORT": "9001",
            "MACHIKOBA_CORS_ORIGINS": "https://app.machikoba.example, https://admin.machikoba.example",
        }
    )
    assert settings.database_url is None
    assert settings.data_dir == tmp_path
    assert (settings.env, settings.port) == ("prod", 9001)
    assert settings.cors_origins == ("https://app.machikoba.example", "https://admin.machikoba.example")
    with pytest.raises(SettingsError, match="MACHIKOBA_ENV"):
        Settings.from_env({"MACHIKOBA_ENV": "staging"})
    with pytest.raises(SettingsError, match="MACHIKOBA_PORT"):
        Settings.from_env({"MACHIKOBA_PORT": "eighty"})
