"""Migrations: from empty, concurrently, and refusing an edited migration."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from server.migrate import MIGRATIONS_DIR, MigrationError, load_migrations, migrate
from tests.conftest import TestDatabase


@pytest.fixture
async def empty_database(admin_dsn: str) -> TestDatabase:
    name = "t_empty_migrations"
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return TestDatabase(admin_dsn, name)


async def test_two_migrators_at_once_apply_each_migration_once(empty_database: TestDatabase) -> None:
    # given two processes' connections to one empty database
    first, second = await empty_database.connect(), await empty_database.connect()
    try:
        # when both migrate at the same moment
        applied = await asyncio.gather(migrate(first), migrate(second))
        # then the advisory lock lets one apply everything and the other find nothing to do
        expected = [f"{m.version:04d}_{m.name}" for m in load_migrations()]
        assert sorted(applied, key=len) == [[], expected]
        rows = await first.fetch("SELECT version FROM schema_migrations ORDER BY version")
        assert [r["version"] for r in rows] == [m.version for m in load_migrations()]
    finally:
        await first.close()
        await second.close()


async def test_migrate_is_idempotent(empty_database: TestDatabase) -> None:
    conn = await empty_database.connect()
    try:
        assert await migrate(conn)
        assert await migrate(conn) == []
    finally:
        await conn.close()


async def test_edited_migration_is_refused(empty_database: TestDatabase, tmp_path: Path) -> None:
    # given a database migrated from a copy of the migrations
    for path in MIGRATIONS_DIR.glob("*.sql"):
        (tmp_path / path.name).write_text(path.read_text())
    conn = await empty_database.connect()
    try:
        await migrate(conn, tmp_path)
        # when an applied migration's text changes
        first = sorted(tmp_path.glob("*.sql"))[0]
        first.write_text(first.read_text() + "\n-- edited\n")
        # then migrating refuses, naming the file
        with pytest.raises(MigrationError, match=first.name):
            await migrate(conn, tmp_path)
    finally:
        await conn.close()


async def test_failed_migration_leaves_nothing_behind(empty_database: TestDatabase, tmp_path: Path) -> None:
    (tmp_path / "0001_good.sql").write_text("CREATE TABLE a (id int);")
    (tmp_path / "0002_bad.sql").write_text("CREATE TABLE b (id int); SELECT no_such_function();")
    conn = await empty_database.connect()
    try:
        with pytest.raises(asyncpg.UndefinedFunctionError):
            await migrate(conn, tmp_path)
        assert await conn.fetchval("SELECT to_regclass('b')") is None
        assert await conn.fetchval("SELECT max(version) FROM schema_migrations") == 1
    finally:
        await conn.close()


def test_badly_named_migration_is_refused(tmp_path: Path) -> None:
    (tmp_path / "1_oops.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="NNNN_lowercase_name"):
        load_migrations(tmp_path)
