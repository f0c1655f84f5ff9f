"""Migration 0006 gives the RFQs stored before it their work packages and events."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg

from server.migrate import MIGRATIONS_DIR, migrate
from tests.conftest import TestDatabase


async def test_existing_rfqs_get_packages_and_events(admin_dsn: str, tmp_path: Path) -> None:
    # given a database migrated up to 0005 holding an open and a cancelled RFQ of two operations each
    name = f"t_backfill_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if int(path.name[:4]) <= 5:
            (tmp_path / path.name).write_text(path.read_text())
    conn = await TestDatabase(admin_dsn, name).connect()
    try:
        await migrate(conn, tmp_path)
        org = await conn.fetchval("INSERT INTO organisations (kind, name) VALUES ('buyer', 'B') RETURNING id")
        buyer = await conn.fetchval(
            "INSERT INTO buyers (organisation_id, country, currency) VALUES ($1, 'US', 'USD') RETURNING id",
            org,
        )
        for status in ("open", "cancelled"):
            rfq = await conn.fetchval(
                """
                INSERT INTO rfqs (buyer_id, title, currency, incoterm, destination_country, due_date,
                                  bid_deadline, status, cancelled_at)
                VALUES ($1, $2, 'USD', 'DAP', 'US', current_date + 30, current_date + 5, $2,
                        CASE WHEN $2 = 'cancelled' THEN now() END)
                RETURNING id
                """,
                buyer,
                status,
            )
            line = await conn.fetchval(
                """
                INSERT INTO rfq_lines (rfq_id, position, name, material, quantity, tolerance_um, envelope_mm)
                VALUES ($1, 1, 'Shaft', 'S45C', 10, 10, 100) RETURNING id
                """,
                rfq,
            )
            await conn.execute(
                "INSERT INTO rfq_operations (rfq_line_id, position, process_code) "
                "VALUES ($1, 1, 'cnc_turning'), ($1, 2, 'black_oxide')",
                line,
            )
        # when 0006 runs
        applied = await migrate(conn)
        # then
        assert applied[0] == "0006_bids"
        assert await conn.fetchval("SELECT count(*) FROM rfq_packages") == 4
        kinds = await conn.fetch(
            "SELECT r.title, e.kind FROM rfq_events e JOIN rfqs r ON r.id = e.rfq_id ORDER BY e.id"
        )
        assert [(k["title"], k["kind"]) for k in kinds] == [
            ("open", "rfq.submitted"),
            ("cancelled", "rfq.submitted"),
            ("cancelled", "rfq.status_changed"),
        ]
    finally:
        await conn.close()
        admin = await asyncpg.connect(admin_dsn)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
