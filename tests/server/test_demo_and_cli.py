"""Set-up from empty: the CLI on an empty data dir, and the demo seed."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from server import cli, db
from server.auth.principal import Principal, Role
from server.auth.service import principal_from_token
from server.demo import seed_demo
from server.demo.award import STAGES as AWARD_STAGES
from server.demo.seed import DEMO_BUYERS
from tests.conftest import GraphQLClient, TestDatabase, utc_now

OTA_FIVE_AXIS = """
{ factories(filter: {cluster: "Ota", processCode: "five_axis_machining"}, first: 100) {
    totalCount edges { node { cluster capabilities { process { code } } } } } }
"""


def test_cli_migrates_an_empty_data_dir(tmp_path: Path) -> None:
    # given nothing but an empty directory and no DATABASE_URL
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["MACHIKOBA_DATA_DIR"] = str(tmp_path / "data")
    # when
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", "migrate"], env=env, capture_output=True, text=True, timeout=120
    )
    # then the embedded server was created and every migration applied
    assert result.returncode == 0, result.stderr
    assert "applied migration 0001_auth" in result.stderr
    assert "database is up to date" in result.stdout
    assert (tmp_path / "data" / "pg" / "PG_VERSION").exists()


def test_cli_bad_settings_is_a_clear_error(tmp_path: Path) -> None:
    env = {**os.environ, "MACHIKOBA_ENV": "staging", "MACHIKOBA_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", "migrate"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "MACHIKOBA_ENV" in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_seed_is_refused_in_production(tmp_path: Path) -> None:
    env = {**os.environ, "MACHIKOBA_ENV": "prod", "MACHIKOBA_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", "seed", "--demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "refused" in result.stderr
    assert not (tmp_path / "pg").exists()


def test_cli_creates_coordinator_and_buyer_whose_key_works(
    database: TestDatabase, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given the CLI pointed at a database
    monkeypatch.setenv("DATABASE_URL", database.dsn)
    # when the cluster office creates a coordinator and onboards a buyer
    assert (
        cli.main(
            [
                "user",
                "create",
                "--role",
                "coordinator",
                "--email",
                "Boss@Office.example",
                "--password",
                "long enough pw",
            ]
        )
        == 0
    )
    assert (
        cli.main(["buyer", "create", "--name", "Nordic Pumps AB", "--country", "se", "--currency", "sek"])
        == 0
    )
    # then both exist, and the printed key authenticates as that buyer
    out = capsys.readouterr().out
    assert "created coordinator boss@office.example" in out
    secret = out.split("API key (shown once, keep it secret): ")[1].split()[0]

    async def principal() -> Principal:
        pool = await db.create_pool(database.dsn)
        try:
            return await principal_from_token(pool, f"Bearer {secret}", now=utc_now())
        finally:
            await pool.close()

    assert asyncio.run(principal()).role is Role.BUYER
    # and bad input is a clear error with exit code 2
    assert cli.main(["buyer", "create", "--name", "X", "--country", "XX", "--currency", "SEK"]) == 2
    assert "country" in capsys.readouterr().err


async def test_demo_seed_loads_once_and_answers_the_readme_query(pool: db.Pool, gql: GraphQLClient) -> None:
    # when the demo is seeded twice
    first = await seed_demo(pool)
    second = await seed_demo(pool)
    # then the second run adds nothing
    assert first.startswith("loaded 300 factories")
    assert second.startswith("demo data is already loaded")
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM factories") == 300
        assert await conn.fetchval("SELECT count(*) FROM rfqs") == 4 + len(
            AWARD_STAGES
        )  # + the invitations stage
        assert await conn.fetchval("SELECT count(DISTINCT cluster) FROM factories") >= 8
    # and the README's query, with the demo buyer's key, lists Ota factories with 5-axis machining
    body = await gql(OTA_FIVE_AXIS, token=DEMO_BUYERS[0][3])
    factories = body["data"]["factories"]
    assert factories["totalCount"] > 5
    for edge in factories["edges"]:
        assert edge["node"]["cluster"] == "Ota"
        assert "five_axis_machining" in {c["process"]["code"] for c in edge["node"]["capabilities"]}


async def test_demo_rfq_is_too_large_for_any_single_factory(pool: db.Pool) -> None:
    await seed_demo(pool)
    async with pool.acquire() as conn:
        # no factory has every process of the first demo RFQ's routings
        needed = await conn.fetchval(
            """
            SELECT count(DISTINCT o.process_code) FROM rfq_operations o
            JOIN rfq_lines l ON l.id = o.rfq_line_id JOIN rfqs r ON r.id = l.rfq_id
            WHERE r.title LIKE 'Collaborative-robot joint%'
            """
        )
        best = await conn.fetchval(
            """
            SELECT max(n) FROM (
                SELECT count(*) AS n FROM capabilities c
                WHERE c.process_code IN (
                    SELECT o.process_code FROM rfq_operations o
                    JOIN rfq_lines l ON l.id = o.rfq_line_id JOIN rfqs r ON r.id = l.rfq_id
                    WHERE r.title LIKE 'Collaborative-robot joint%')
                GROUP BY c.factory_id) per_factory
            """
        )
    assert best < needed


def test_cli_purges_ended_sessions(
    database: TestDatabase, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", database.dsn)
    assert (
        cli.main(
            ["user", "create", "--role", "coordinator", "--email", "a@b.example", "--password", "x" * 12]
        )
        == 0
    )

    async def add_sessions() -> None:
        conn = await database.connect()
        try:
            user_id = await conn.fetchval("SELECT id FROM users")
            await conn.execute(
                """
                INSERT INTO auth_sessions (user_id, token_hash, created_at, last_seen_at, expires_at)
                VALUES ($1, sha256('old'), now() - interval '30 days', now() - interval '30 days',
                        now() - interval '16 days'),
                       ($1, sha256('live'), now(), now(), now() + interval '1 day')
                """,
                user_id,
            )
        finally:
            await conn.close()

    asyncio.run(add_sessions())
    capsys.readouterr()
    assert cli.main(["purge-sessions"]) == 0
    assert "deleted 1 ended sessions" in capsys.readouterr().out
