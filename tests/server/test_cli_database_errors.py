"""A bad or unreachable ``DATABASE_URL`` is one line that says what to fix and exit code 2, for every
command that connects, run through the installed ``machikoba`` entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.conftest import TestDatabase

MACHIKOBA = str(Path(sys.executable).with_name("machikoba"))

COMMANDS_THAT_CONNECT = [
    ["migrate"],
    ["seed", "--demo"],
    ["serve", "--port", "1"],
    ["user", "create", "--role", "coordinator", "--email", "a@b.example", "--password", "long enough pw"],
    ["buyer", "create", "--name", "Nordic Pumps AB", "--country", "SE", "--currency", "SEK"],
]


def run_machikoba(args: list[str], database_url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "MACHIKOBA_DATA_DIR": str(tmp_path)}
    return subprocess.run([MACHIKOBA, *args], env=env, capture_output=True, text=True, timeout=60)


def assert_one_line_error(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("machikoba: ")
    for text in expected:
        assert text in lines[0]


@pytest.mark.parametrize("args", COMMANDS_THAT_CONNECT, ids=lambda args: " ".join(args[:2]))
def test_unreachable_database_is_one_line(args: list[str], tmp_path: Path) -> None:
    # given a DATABASE_URL where nothing listens (port 1)
    # when any command that connects runs
    result = run_machikoba(args, "postgresql://nobody@127.0.0.1:1/machikoba", tmp_path)
    # then it names the address, the cause and the fixes
    assert_one_line_error(result, "127.0.0.1:1", "connection refused", "DATABASE_URL")


@pytest.mark.parametrize(
    "url", ["not a url", "postgresql://u:secret@127.0.0.1:99999/x", "postgresql://h:abc/x"]
)
def test_malformed_database_url_is_one_line(url: str, tmp_path: Path) -> None:
    result = run_machikoba(["migrate"], url, tmp_path)
    assert_one_line_error(result, "DATABASE_URL is not a usable PostgreSQL URL", "postgresql://USER")
    assert "secret" not in result.stderr


def test_missing_database_is_one_line(database: TestDatabase, tmp_path: Path) -> None:
    # given a reachable server without the named database
    missing = urlunsplit(urlsplit(database.dsn)._replace(path="/no_such_database"))
    result = run_machikoba(["migrate"], missing, tmp_path)
    assert_one_line_error(result, '"no_such_database" does not exist', "createdb")
