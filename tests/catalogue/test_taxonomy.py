"""The catalogue held in memory (server/catalogue/taxonomy.py): read at start, shown without queries, and
refreshed after a change — made through this process, or by another process on its own pool."""

from __future__ import annotations

from server import db
from server.catalogue.taxonomy import TaxonomyCache, current_version, taxonomy_for
from tests.conftest import Caller, GraphQLClient, QueryLog, TestDatabase
from tests.factories.conftest import TURNING, make_factory

REGISTRY = """
{ factories(first: 10) { edges { node {
    nameEn prefecture { code nameEn } capabilities { process { code nameEn } } } } } }
"""
CATALOGUE_TABLES = ("prefectures", "processes", "materials", "certifications")


async def test_a_page_shows_catalogue_entries_without_querying_the_catalogue(
    pool: db.Pool, gql: GraphQLClient, owner: Caller, query_log: QueryLog
) -> None:
    # given a factory, and the catalogue already read (the lifespan reads it at start)
    await make_factory(pool, owner, "Sato Precision", capabilities=[TURNING])
    await taxonomy_for(pool).current()

    # when the registry is read with the prefecture and process names
    query_log.recording = True
    body = await gql(REGISTRY, token=owner.token)
    query_log.recording = False

    # then the names are there, and no query read a catalogue table
    node = body["data"]["factories"]["edges"][0]["node"]
    assert node["prefecture"] == {"code": "13", "nameEn": "Tokyo"}
    assert node["capabilities"] == [{"process": {"code": "cnc_turning", "nameEn": "CNC turning"}}]
    for query in query_log.app_queries:
        assert not any(f"FROM {table}" in query for table in CATALOGUE_TABLES), query
    # the session, the page, its capabilities: one query each (and at most the once-a-second version check)
    queries = [q for q in query_log.app_queries if "FROM catalogue_version" not in q]
    assert len(queries) == 3, queries


async def test_every_catalogue_write_moves_the_version(pool: db.Pool) -> None:
    async with pool.acquire() as conn:
        before = await current_version(conn)
        await conn.execute("UPDATE processes SET name_en = name_en WHERE code = 'cnc_turning'")
        await conn.execute("INSERT INTO certifications (code, name) VALUES ('TEST1', 'Test')")
        await conn.execute("DELETE FROM certifications WHERE code = 'TEST1'")
        await conn.execute("UPDATE prefectures SET name_en = name_en WHERE code = '13'")
        await conn.execute("UPDATE materials SET name_en = name_en WHERE code = 'SUS304'")
        after = await current_version(conn)
    assert after == before + 5


async def test_a_write_through_this_process_is_shown_by_the_next_request(
    pool: db.Pool, gql: GraphQLClient, owner: Caller
) -> None:
    # given a factory read once, so the process holds the catalogue
    await make_factory(pool, owner, "Sato Precision", capabilities=[TURNING])
    first = await gql(REGISTRY, token=owner.token)
    assert first["data"]["factories"]["edges"][0]["node"]["capabilities"][0]["process"]["nameEn"] == (
        "CNC turning"
    )

    # when the process is renamed through this process, which says so
    async with db.transaction(pool) as conn:
        await conn.execute("UPDATE processes SET name_en = 'CNC lathe turning' WHERE code = 'cnc_turning'")
    taxonomy_for(pool).invalidate()

    # then the next request shows the new name
    second = await gql(REGISTRY, token=owner.token)
    assert second["data"]["factories"]["edges"][0]["node"]["capabilities"][0]["process"]["nameEn"] == (
        "CNC lathe turning"
    )


async def test_another_process_sees_a_change_at_its_next_check(pool: db.Pool, database: TestDatabase) -> None:
    # given a second process's pool and cache on the same database, each holding the catalogue
    other_pool = await db.create_pool(database.admin_dsn, database=database.name, min_size=1, max_size=2)
    try:
        other = TaxonomyCache(other_pool, check_interval_s=0.0)  # checks on every call
        before = await other.current()
        assert before.processes["cnc_turning"].name_en == "CNC turning"
        assert "TEST1" not in before.certifications

        # when this process writes the catalogue (without telling anyone)
        async with db.transaction(pool) as conn:
            await conn.execute(
                "UPDATE processes SET name_en = 'CNC lathe turning' WHERE code = 'cnc_turning'"
            )
            await conn.execute("INSERT INTO certifications (code, name) VALUES ('TEST1', 'Test scheme')")

        # then the other process's next check reloads it
        after = await other.current()
        assert after.processes["cnc_turning"].name_en == "CNC lathe turning"
        assert after.certifications["TEST1"].name == "Test scheme"
        assert after.version > before.version
        # and an unchanged version keeps the same copy (no reload)
        assert await other.current() is after
    finally:
        await other_pool.close()


async def test_a_cache_trusts_its_copy_until_the_next_check(pool: db.Pool) -> None:
    # given a cache that checks once an hour
    cache = TaxonomyCache(pool, check_interval_s=3600)
    before = await cache.current()

    # when the catalogue changes behind its back
    async with db.transaction(pool) as conn:
        await conn.execute("UPDATE processes SET name_en = 'CNC lathe turning' WHERE code = 'cnc_turning'")

    # then it answers its copy without a query until told, and the change once told
    assert await cache.current() is before
    cache.invalidate()
    assert (await cache.current()).processes["cnc_turning"].name_en == "CNC lathe turning"
