"""``machikoba seed --demo`` says what it is doing, one line per stage, while it does it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import TestDatabase

MACHIKOBA = str(Path(sys.executable).with_name("machikoba"))


def test_demo_seed_reports_each_stage(database: TestDatabase, tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": database.dsn, "MACHIKOBA_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [MACHIKOBA, "seed", "--demo"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    progress = [line for line in result.stderr.splitlines() if line.startswith("machikoba: ")]
    assert progress[0] == "machikoba: migrating the database"
    assert "machikoba: inserting 300 factories with their owners, capabilities and capacity" in progress
    assert "machikoba: inserting 3 buyers with their API keys" in progress
    # the three demo RFQs, and the invitations stage's own (server/demo/invitations.py)
    assert sum(line.startswith("machikoba: submitting the RFQ") for line in progress) == 4
    assert progress[-1].startswith("machikoba: done in ")
    # stdout keeps only the result: the summary and the credentials
    assert result.stdout.startswith("loaded 300 factories")
