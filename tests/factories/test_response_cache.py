"""The response cache of registry reads (server/cache/): never across visibility classes, never older than
the caller's own last write, dropped across processes by NOTIFY, and the same answers as without it.

"A second process" is a second application with a pool of its own on the same database: it shares nothing
with the first but PostgreSQL, as a second ``serve`` worker would.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from graphql import parse
from starlette.applications import Starlette

from schema.schema import build_schema
from server import db
from server.app import create_app
from server.cache.documents import MAX_TEXT, REGISTRY_FIELDS, ROOT_FIELDS, Plans, plan_of
from server.cache.middleware import CACHE_HEADER, ResponseCache
from server.cache.store import ResponseStore
from server.clock import Clock
from server.factories import repo
from server.settings import Settings
from tests.conftest import Caller, QueryLog, TestDatabase, error_code, make_buyer, make_factory_owner
from tests.factories.conftest import NEXT_YEAR, THIS_MONDAY, capability, make_factory

HEAVY = """
query Registry($first: Int) {
  factories(first: $first) {
    totalCount
    edges {
      cursor
      node {
        id nameEn isMine approvalStatus approvalNote
        prefecture { code nameEn }
        certifications { code validUntil isValid }
        capabilities {
          processCode materials bestToleranceUm minLot maxLot hoursPerWeek hourlyRateJpy setupCostJpy lead
          process { code nameEn }
        }
        capacity(weeks: 2) { processCode weekStart hours isOverride }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
""".replace("lead\n", "leadDays\n")
FACTORY = """
query($id: ID!) {
  factory(id: $id) {
    id nameEn isMine approvalNote capabilities { hourlyRateJpy } capacity(weeks: 1) { hours }
  }
}
"""
CAPACITY_SET = """
mutation($factoryId: ID!, $weeks: [CapacityWeekInput!]!) {
  capacitySet(factoryId: $factoryId, processCode: "cnc_turning", weeks: $weeks) { errors { code } }
}
"""
CATALOGUE = "{ prefectures { code } processes { code materialFamilies } clusters { name factoryCount } }"
TAXONOMY = "{ prefectures { code nameEn } materials { code family } certifications { code name } }"


async def _until(condition: Callable[[], bool], *, timeout_s: float = 30.0) -> None:
    """Wait until ``condition`` holds; fail after ``timeout_s`` (a bound, not a speed claim)."""
    deadline = time.monotonic() + timeout_s
    while True:
        if condition():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        await asyncio.sleep(0.01)


@dataclass
class Instance:
    """One application (a process of its own, as far as the cache knows) and a client of it."""

    app: Starlette
    http: httpx.AsyncClient

    @property
    def cache(self) -> ResponseCache:
        cache: ResponseCache = self.app.state.response_cache
        return cache

    async def ask(
        self, query: str, variables: dict[str, Any] | None = None, *, caller: Caller | None = None
    ) -> tuple[dict[str, Any], str | None]:
        """The body, and whether the cache answered it (``hit``, ``miss``, ``bypass`` or None when off)."""
        headers = {"Authorization": f"Bearer {caller.token}"} if caller else {}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body, response.headers.get(CACHE_HEADER)


@pytest.fixture
async def instances(
    database: TestDatabase, settings: Settings, clock: Clock
) -> AsyncIterator[Callable[..., Any]]:
    """Starts applications on the test database, each with its own pool; stops them at the end."""
    opened: list[tuple[db.Pool, httpx.AsyncClient, Starlette]] = []

    async def start(*, cache: bool = True) -> Instance:
        pool = await db.create_pool(database.admin_dsn, database=database.name, min_size=1, max_size=4)
        app = create_app(dataclasses.replace(settings, response_cache=cache), pool=pool, clock=clock)
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        opened.append((pool, http, app))
        return Instance(app, http)

    yield start
    for pool, http, app in opened:
        await http.aclose()
        await app.state.response_cache.close()
        await pool.close()


@dataclass
class Registry:
    """Two owners with factories (one of A's pending), a buyer, a coordinator."""

    owner_a: Caller
    owner_b: Caller
    buyer: Caller
    coordinator: Caller
    a_factory: repo.Factory
    a_pending: repo.Factory
    b_factory: repo.Factory


@pytest.fixture
async def registry(pool: db.Pool, owner: Caller, other_owner: Caller, coordinator: Caller) -> Registry:
    a_factory = await make_factory(
        pool, owner, "Aoki Turning", certifications=[("ISO9001", NEXT_YEAR)], capabilities=[capability()]
    )
    a_pending = await make_factory(
        pool, owner, "Aoki Second Plant", capabilities=[capability(hourly_rate_jpy=9100)], approved=False
    )
    b_factory = await make_factory(
        pool, other_owner, "Baba Works", prefecture="27", capabilities=[capability(hourly_rate_jpy=7000)]
    )
    buyer = await make_buyer(pool, coordinator, "Acme Robotics")
    return Registry(owner, other_owner, buyer, coordinator, a_factory, a_pending, b_factory)


def _callers(registry: Registry) -> dict[str, Caller | None]:
    return {
        "owner A": registry.owner_a,
        "owner B": registry.owner_b,
        "buyer": registry.buyer,
        "coordinator": registry.coordinator,
        "anonymous": None,
    }


async def test_cached_and_uncached_answers_are_equal_for_every_caller_class(
    instances: Callable[..., Any], registry: Registry
) -> None:
    # given one application with the cache and one without, on the same database
    cached: Instance = await instances()
    plain: Instance = await instances(cache=False)
    for name, caller in _callers(registry).items():
        for query, variables in ((HEAVY, {"first": 20}), (CATALOGUE, None)):
            # when the caller asks twice, the second time from the cache
            first, first_label = await cached.ask(query, variables, caller=caller)
            second, second_label = await cached.ask(query, variables, caller=caller)
            expected, plain_label = await plain.ask(query, variables, caller=caller)
            # then every answer is the uncached one
            assert first == expected, name
            assert second == expected, name
            assert plain_label is None
            if caller is None and query is not TAXONOMY:  # anonymous callers see the taxonomy only
                assert error_code(expected) == "UNAUTHENTICATED"
                assert (first_label, second_label) == ("miss", "miss"), name
            else:
                assert (first_label, second_label) == ("miss", "hit"), name


async def test_an_owners_cached_answer_is_never_served_to_another_class(
    instances: Callable[..., Any], registry: Registry
) -> None:
    # given owner A's answer in the cache: its pending factory, with its rates and capacity
    cached: Instance = await instances()
    plain: Instance = await instances(cache=False)
    own, label = await cached.ask(HEAVY, {"first": 20}, caller=registry.owner_a)
    again, again_label = await cached.ask(HEAVY, {"first": 20}, caller=registry.owner_a)
    assert (label, again_label, own) == ("miss", "hit", again)
    nodes = {e["node"]["nameEn"]: e["node"] for e in own["data"]["factories"]["edges"]}
    assert set(nodes) == {"Aoki Turning", "Aoki Second Plant", "Baba Works"}
    assert nodes["Aoki Second Plant"]["capabilities"][0]["hourlyRateJpy"] == 9100
    assert nodes["Aoki Turning"]["isMine"] is True
    assert nodes["Baba Works"]["capabilities"][0]["hourlyRateJpy"] is None
    # when every other class asks the same document with the same variables
    for name, caller in _callers(registry).items():
        if caller is registry.owner_a:
            continue
        body, label = await cached.ask(HEAVY, {"first": 20}, caller=caller)
        expected, _ = await plain.ask(HEAVY, {"first": 20}, caller=caller)
        # then it is computed for it (a miss), equal to the uncached answer, and shows none of A's privates
        assert label == "miss", name
        assert body == expected, name
        assert body != own, name
        for edge in (body.get("data") or {}).get("factories", {}).get("edges", []):
            node = edge["node"]
            if node["nameEn"].startswith("Aoki") and caller is not registry.coordinator:
                assert node["isMine"] is False
                assert node["capabilities"][0]["hourlyRateJpy"] is None
                assert node["capacity"] is None
            assert node["nameEn"] != "Aoki Second Plant" or caller is registry.coordinator
    # and the pending factory stays NOT_FOUND to owner B after A's own answer for it was cached
    await cached.ask(FACTORY, {"id": str(registry.a_pending.id)}, caller=registry.owner_a)
    hit, label = await cached.ask(FACTORY, {"id": str(registry.a_pending.id)}, caller=registry.owner_a)
    assert label == "hit"
    assert hit["data"]["factory"]["capabilities"] == [{"hourlyRateJpy": 9100}]
    denied, label = await cached.ask(FACTORY, {"id": str(registry.a_pending.id)}, caller=registry.owner_b)
    assert error_code(denied) == "NOT_FOUND"
    assert label == "miss"


async def test_concurrent_identical_misses_run_once_and_share_the_answer(
    instances: Callable[..., Any], registry: Registry
) -> None:
    # given an empty cache, and the uncached answer
    cached: Instance = await instances()
    plain: Instance = await instances(cache=False)
    expected, _ = await plain.ask(HEAVY, {"first": 20}, caller=registry.buyer)
    # when six identical requests come at once
    answers = await asyncio.gather(
        *(cached.ask(HEAVY, {"first": 20}, caller=registry.buyer) for _ in range(6))
    )
    # then each is the uncached answer; GraphQL ran for the first and the others waited for it
    assert all(body == expected for body, _ in answers)
    labels = sorted(label or "" for _, label in answers)
    assert labels.count("miss") == 1
    assert set(labels) <= {"miss", "shared", "hit"}
    assert cached.cache.stats.shared == labels.count("shared")


async def test_a_caller_reads_its_own_write_in_the_same_process(
    instances: Callable[..., Any], registry: Registry
) -> None:
    # given owner A's factory capacity in the cache
    app: Instance = await instances()
    variables = {"id": str(registry.a_factory.id)}
    await app.ask(FACTORY, variables, caller=registry.owner_a)
    before, label = await app.ask(FACTORY, variables, caller=registry.owner_a)
    assert label == "hit"
    assert before["data"]["factory"]["capacity"] == [{"hours": 40.0}]
    # when the owner sets this week's capacity
    weeks = [{"weekStart": THIS_MONDAY.isoformat(), "hours": 12}]
    written, _ = await app.ask(
        CAPACITY_SET, {"factoryId": str(registry.a_factory.id), "weeks": weeks}, caller=registry.owner_a
    )
    assert written["data"]["capacitySet"]["errors"] == []
    # then the next read shows it
    after, label = await app.ask(FACTORY, variables, caller=registry.owner_a)
    assert after["data"]["factory"]["capacity"] == [{"hours": 12.0}]
    assert label == "miss"


async def test_a_caller_reads_its_own_write_made_through_another_process_before_any_notification(
    instances: Callable[..., Any], registry: Registry
) -> None:
    # given process 2 with owner A's capacity cached, deaf to notifications
    one: Instance = await instances()
    two: Instance = await instances()
    variables = {"id": str(registry.a_factory.id)}
    await two.ask(FACTORY, variables, caller=registry.owner_a)
    cached, label = await two.ask(FACTORY, variables, caller=registry.owner_a)
    assert label == "hit"
    assert cached["data"]["factory"]["capacity"] == [{"hours": 40.0}]
    generation = two.cache.generation_of(two.cache.state["pool"])
    assert generation._conn is not None
    await generation._conn.remove_listener("machikoba_registry", generation._on_notify)
    # when the owner writes through process 1
    weeks = [{"weekStart": THIS_MONDAY.isoformat(), "hours": 6}]
    written, _ = await one.ask(
        CAPACITY_SET, {"factoryId": str(registry.a_factory.id), "weeks": weeks}, caller=registry.owner_a
    )
    assert written["data"]["capacitySet"]["errors"] == []
    # then process 2 answers the new value at once: its read of the generation saw the write
    after, label = await two.ask(FACTORY, variables, caller=registry.owner_a)
    assert after["data"]["factory"]["capacity"] == [{"hours": 6.0}]
    assert label == "miss"


async def test_a_write_in_one_process_drops_the_cache_of_another_by_notify(
    instances: Callable[..., Any], registry: Registry
) -> None:
    # given process 2 with answers cached
    one: Instance = await instances()
    two: Instance = await instances()
    for caller in (registry.owner_b, registry.buyer, registry.coordinator):
        await two.ask(HEAVY, {"first": 20}, caller=caller)
    assert len(two.cache.store) == 3
    generation_before = two.cache.store.generation
    assert generation_before is not None
    # when an owner writes through process 1, and process 2 is asked nothing
    weeks = [{"weekStart": THIS_MONDAY.isoformat(), "hours": 3}]
    written, _ = await one.ask(
        CAPACITY_SET, {"factoryId": str(registry.a_factory.id), "weeks": weeks}, caller=registry.owner_a
    )
    assert written["data"]["capacitySet"]["errors"] == []
    # then the notification empties process 2's cache by itself
    await _until(lambda: len(two.cache.store) == 0)
    assert two.cache.store.generation == generation_before + 1


async def test_a_lost_registry_connection_drops_the_cache_and_reconnects(
    instances: Callable[..., Any], registry: Registry, pool: db.Pool
) -> None:
    # given answers cached
    app: Instance = await instances()
    await app.ask(CATALOGUE, caller=registry.buyer)
    assert len(app.cache.store) == 1
    generation = app.cache.generation_of(app.cache.state["pool"])
    assert generation._conn is not None
    pid = generation._conn.get_server_pid()
    # when the server ends its listening connection (notifications may be lost from here on)
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT pg_terminate_backend($1)", pid)
    await _until(lambda: not generation.listening)
    # then everything cached is gone, and the next request listens again and is answered afresh
    assert len(app.cache.store) == 0
    body, label = await app.ask(CATALOGUE, caller=registry.buyer)
    assert label == "miss"
    assert "errors" not in body
    assert generation.listening
    _, label = await app.ask(CATALOGUE, caller=registry.buyer)
    assert label == "hit"


async def test_the_cache_is_switched_off_by_a_setting(
    instances: Callable[..., Any], registry: Registry, query_log: QueryLog
) -> None:
    # given the setting off
    assert Settings.from_env({"MACHIKOBA_RESPONSE_CACHE": "0"}).response_cache is False
    assert Settings.from_env({}).response_cache is True
    app: Instance = await instances(cache=False)
    # when the same registry read comes twice
    first, first_label = await app.ask(HEAVY, {"first": 20}, caller=registry.buyer)
    second, second_label = await app.ask(HEAVY, {"first": 20}, caller=registry.buyer)
    # then GraphQL answers both, and nothing is kept
    assert first == second
    assert "errors" not in first
    assert (first_label, second_label) == (None, None)
    assert len(app.cache.store) == 0
    assert app.cache.stats.hits == 0


@pytest.mark.parametrize(
    "document",
    [
        "mutation { accountLogOut { __typename } }",
        "{ me { __typename } }",
        "{ factories { totalCount } me { __typename } }",
        "{ rfqs { totalCount } }",
        "{ __schema { queryType { name } } }",
        "query A { clusters { name } } query B { prefectures { code } }",
        'subscription { solveProgress(jobId: "x") { __typename } }',
        "{ factories { edges { node { nope } } } }",
        "{ factories { ...F } } fragment F on FactoryConnection { edges { node { ...G } } } "
        "fragment G on Factory { id } fragment H on Query { me { __typename } }",
        "{ factories { totalCount } ... on Query { me { __typename } } }",
    ],
)
def test_only_registry_reads_qualify(document: str) -> None:
    schema = build_schema(mask_errors=False)._schema
    assert plan_of(schema, parse(document)) is None


def test_every_field_the_cache_allows_is_in_the_schema() -> None:
    # A renamed field would silently stop being cached; a new one is not cached until listed.
    schema = build_schema(mask_errors=False)._schema
    assert set(schema.type_map["Query"].fields) >= ROOT_FIELDS  # type: ignore[attr-defined]
    for type_name, fields in REGISTRY_FIELDS.items():
        assert fields <= set(schema.type_map[type_name].fields), type_name  # type: ignore[attr-defined]


def test_registry_reads_qualify_whatever_their_spelling() -> None:
    schema = build_schema(mask_errors=False)._schema
    one = plan_of(schema, parse(HEAVY))
    two = plan_of(schema, parse("# a comment\n" + HEAVY.replace("\n", "\n\n  ")))
    assert one is not None
    assert one == two
    fragments = "{ factories { ...F } } fragment F on FactoryConnection { edges { node { id __typename } } }"
    assert plan_of(schema, parse(fragments)) is not None


async def test_a_registry_write_moves_the_generation_once_per_committed_transaction(pool: db.Pool) -> None:
    async with pool.acquire() as conn:
        before = await conn.fetchval("SELECT value FROM registry_generation")
        # a transaction writing many rows of several tables: one step
        async with conn.transaction():
            await conn.execute("UPDATE processes SET name_en = name_en")
            await conn.execute("UPDATE prefectures SET name_en = name_en")
        assert await conn.fetchval("SELECT value FROM registry_generation") == before + 1
        # a rolled-back one: none
        tx = conn.transaction()
        await tx.start()
        await conn.execute("UPDATE materials SET name_en = name_en")
        await tx.rollback()
        assert await conn.fetchval("SELECT value FROM registry_generation") == before + 1
        # a write elsewhere (sessions): none
        await conn.execute("DELETE FROM auth_sessions WHERE false")
        await conn.execute("UPDATE users SET display_name = display_name")
        assert await conn.fetchval("SELECT value FROM registry_generation") == before + 1


async def test_an_owner_without_factories_and_an_owner_with_them_do_not_share_answers(
    instances: Callable[..., Any], registry: Registry, pool: db.Pool
) -> None:
    # given a third owner, with no factory, asking after owner A
    newcomer = await make_factory_owner(pool, "owner3@koba.example")
    app: Instance = await instances()
    mine = {"first": 20}
    query = HEAVY.replace("factories(first: $first)", "factories(first: $first, filter: {ownedByMe: true})")
    own, _ = await app.ask(query, mine, caller=registry.owner_a)
    assert own["data"]["factories"]["totalCount"] == 2
    # when the newcomer asks the same
    body, label = await app.ask(query, mine, caller=newcomer)
    # then it gets its own (empty) registry
    assert label == "miss"
    assert body["data"]["factories"]["totalCount"] == 0


def test_the_store_keeps_no_answer_computed_before_a_drop_and_stays_within_its_bytes() -> None:
    store = ResponseStore(max_bytes=4000)
    epoch = store.observe(5)
    # an answer computed while a newer generation was seen is not kept
    assert store.observe(6) != epoch
    assert store.put(("doc", "a"), b"x" * 100, epoch=epoch) is False
    assert store.get(("doc", "a")) is None
    # an older generation seen later (a read that started before a notification) drops nothing
    epoch = store.observe(6)
    assert store.put(("doc", "a"), b"x" * 100, epoch=epoch) is True
    assert store.observe(5) == epoch
    assert store.get(("doc", "a")) == b"x" * 100
    # the least recently used go first when the bytes run out; an answer over a quarter is never kept
    for n in range(10):
        store.put(("doc", str(n)), b"y" * 900, epoch=epoch)
    assert len(store) == 4
    assert store.get(("doc", "9")) is not None
    assert store.get(("doc", "0")) is None
    assert store.put(("doc", "big"), b"z" * 1001, epoch=epoch) is False
    # a lost connection (generation unknown) drops everything
    store.observe(None)
    assert len(store) == 0


def test_long_documents_are_never_cached() -> None:
    plans = Plans(build_schema(mask_errors=False)._schema, max_tokens=2000)
    assert plans.get(HEAVY) is not None
    assert plans.get(HEAVY + " " * MAX_TEXT) is None


async def test_in_prod_the_cache_answers_without_saying_so(
    database: TestDatabase, settings: Settings, clock: Clock, registry: Registry
) -> None:
    pool = await db.create_pool(database.admin_dsn, database=database.name, min_size=1, max_size=2)
    app = create_app(dataclasses.replace(settings, env="prod"), pool=pool, clock=clock)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            headers = {"Authorization": f"Bearer {registry.buyer.token}"}
            responses = [
                await http.post("/graphql", json={"query": TAXONOMY}, headers=headers) for _ in range(2)
            ]
        assert responses[0].json() == responses[1].json()
        assert all(CACHE_HEADER not in r.headers for r in responses)
        assert app.state.response_cache.stats.hits == 1
    finally:
        await app.state.response_cache.close()
        await pool.close()
