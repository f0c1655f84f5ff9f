"""The hand-written floor: Starlette + asyncpg + orjson, the benchmark's two answers built by hand.

No GraphQL at all: the document is matched by its text, the page is three queries on one connection, and
the JSON is built from the rows in one pass. What the project costs above this is the price of its layers.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.peers.common import (
    CAPABILITIES_SQL,
    CERTIFICATIONS_SQL,
    FACTORIES_SQL,
    HEAVY,
    ME,
    PAGE_SIZE,
    dsn,
    session_role,
    today_jst,
)


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _unauthorised() -> Response:
    return _json(
        {"data": None, "errors": [{"message": "Sign in.", "extensions": {"code": "UNAUTHENTICATED"}}]}
    )


async def _heavy(conn: Any) -> dict[str, Any]:
    rows = await conn.fetch(FACTORIES_SQL, PAGE_SIZE)
    ids = [r["id"] for r in rows]
    capabilities: dict[Any, list[dict[str, Any]]] = {i: [] for i in ids}
    for c in await conn.fetch(CAPABILITIES_SQL, ids):
        capabilities[c["factory_id"]].append(
            {
                "process": {"code": c["process_code"], "nameEn": c["process_name_en"]},
                "materials": list(c["materials"]),
                "bestToleranceUm": float(c["best_tolerance_um"]),
                "maxEnvelopeMm": c["max_envelope_mm"],
                "minLot": c["min_lot"],
                "maxLot": c["max_lot"],
                "hoursPerWeek": float(c["hours_per_week"]),
                "hourlyRateJpy": c["hourly_rate_jpy"],
                "setupCostJpy": c["setup_cost_jpy"],
                "leadDays": c["lead_days"],
            }
        )
    today = today_jst()
    certifications: dict[Any, list[dict[str, Any]]] = {i: [] for i in ids}
    for c in await conn.fetch(CERTIFICATIONS_SQL, ids):
        certifications[c["factory_id"]].append(
            {
                "code": c["code"],
                "name": c["name"],
                "validUntil": c["valid_until"].isoformat(),
                "isValid": c["valid_until"] >= today,
            }
        )
    edges = [
        {
            "node": {
                "id": str(r["id"]),
                "nameEn": r["name_en"],
                "nameJa": r["name_ja"],
                "city": r["city"],
                "prefecture": {"code": r["prefecture"], "nameEn": r["prefecture_name_en"]},
                "certifications": certifications[r["id"]],
                "capabilities": capabilities[r["id"]],
            }
        }
        for r in rows
    ]
    return {"data": {"factories": {"edges": edges}}}


def app() -> Starlette:
    state: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state["pool"] = await asyncpg.create_pool(dsn(), min_size=1, max_size=10)
        try:
            yield
        finally:
            await state["pool"].close()

    async def graphql(request: Request) -> Response:
        body = orjson.loads(await request.body())
        query = body.get("query")
        pool: asyncpg.Pool = state["pool"]
        async with pool.acquire() as conn:
            role = await session_role(conn, request.headers.get("authorization"))
            if role is None:
                return _unauthorised()
            if query == ME:
                return _json({"data": {"me": {"__typename": "Me"}}})
            if query == HEAVY and role == "coordinator":
                return _json(await _heavy(conn))
        return _json({"errors": [{"message": "The floor answers only the benchmark's documents."}]}, 400)

    return Starlette(routes=[Route("/graphql", graphql, methods=["POST"])], lifespan=lifespan)
