"""pgqueuer's schema as our migration: accepted by pgqueuer, and upgradable by a later migration."""

from __future__ import annotations

from pgqueuer import AsyncpgDriver, Queries, QueueManager
from pgqueuer.adapters.cli.sql_cmd import render_upgrade
from pgqueuer.domain.settings import db_settings

from tests.conftest import TestDatabase


async def test_pgqueuer_accepts_the_migrated_schema_and_its_upgrade_script_applies_on_top(
    database: TestDatabase,
) -> None:
    conn = await database.connect()
    try:
        queries = Queries(AsyncpgDriver(conn))
        # the worker's start-up check passes on the schema our migration created
        await QueueManager(queries).verify_structure()
        assert await queries.schema_is_installed()
        # and pgqueuer finds nothing to upgrade: the migration is exactly this release's schema
        assert not (await queries.plan_upgrade()).statements
        # the idempotent script a later pgqueuer upgrade would ship as a migration runs on it, in a
        # transaction as our migration runner runs it, and leaves nothing more to do
        async with conn.transaction():
            await conn.execute(render_upgrade(db_settings()))
        plan = await queries.plan_upgrade()
        assert not plan.statements
    finally:
        await conn.close()
