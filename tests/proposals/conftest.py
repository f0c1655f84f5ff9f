"""Helpers for tests that solve over this database's own factories and work packages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from server import db
from tests.conftest import Caller, GraphQLClient, jst_today
from tests.rfqs.conftest import submitted_id

# A work package as the Problem builder sees it: (package id, line id, operation position, process code).
Package = tuple[UUID, UUID, int, str]


def problem_over(
    factories: Sequence[UUID],
    packages: Sequence[Package],
    due: dt.date,
    *,
    unit_prices: Sequence[int],
    firm: Sequence[bool],
    weekly_hours: int,
    policy: dict[str, Any],
) -> dict[str, Any]:
    """A Problem (solver JSON) whose ids are this database's: 100 units a package, all due on ``due``; every
    factory offers every package at its own unit price (same setup and hours) and has ``weekly_hours`` free
    for each package's process every week from this week to the due date. Given with the request, it tests
    storage, review and invitations on their own, whatever the Problem builder decides."""
    origin = jst_today() - dt.timedelta(days=jst_today().weekday())
    weeks = [(origin + dt.timedelta(weeks=w)).isocalendar() for w in range((due - origin).days // 7 + 1)]
    return {
        "origin": origin.isoformat(),
        "factories": [{"id": str(f), "prefecture": "13"} for f in factories],
        "packages": [
            {
                "id": str(p),
                "line": str(line),
                "operation": op,
                "process": process,
                "quantity": 100,
                "due": due.isoformat(),
            }
            for p, line, op, process in packages
        ],
        "offers": [
            {
                "factory": str(f),
                "package": str(p),
                "unit_price": unit_prices[i],
                "setup_cost": 5000,
                "hours_per_unit": 0.1,
                "setup_hours": 1,
                "firm": firm[i],
            }
            for i, f in enumerate(factories)
            for p, _, _, _ in packages
        ],
        "capacity": [
            {"factory": str(f), "process": process, "week": f"{y}-W{w:02d}", "hours": weekly_hours}
            for f in factories
            for (_, _, _, process) in packages
            for (y, w, _) in weeks
        ],
        "transport": {"default_days": 0, "default_cost": 0},
        "policy": policy,
    }


async def shaft_rfq(gql: GraphQLClient, pool: db.Pool, buyer: Caller) -> tuple[str, list[Package]]:
    """``buyer``'s RFQ of one line (100 SUS304 shafts: CNC turning, then CMM inspection) and its two work
    packages, in operation order."""
    rfq = await submitted_id(
        gql,
        buyer,
        lines=[
            {
                "name": "Shaft",
                "material": "SUS304",
                "quantity": 100,
                "toleranceUm": 10,
                "envelopeMm": 50,
                "operations": [{"processCode": "cnc_turning"}, {"processCode": "cmm_inspection"}],
            }
        ],
    )
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            """
            SELECT p.id, l.id AS line, o.position, o.process_code FROM rfq_packages p
            JOIN rfq_lines l ON l.id = p.rfq_line_id
            JOIN rfq_operations o ON o.rfq_line_id = l.id AND o.position = p.operation_position
            WHERE l.rfq_id = $1 ORDER BY o.position
            """,
            UUID(rfq),
        )
    return rfq, [(r["id"], r["line"], r["position"], r["process_code"]) for r in rows]
