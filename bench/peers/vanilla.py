"""A vanilla strawberry app with the benchmark's response shape: plain types, two DataLoaders
(capabilities and certifications by factory), strawberry's parser and validation caches, no limits.

It is what strawberry costs when used the way its documentation shows; the project should not be slower.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import asyncpg
import strawberry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.dataloader import DataLoader
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.types import Info

from bench.peers.common import (
    CAPABILITIES_SQL,
    CERTIFICATIONS_SQL,
    FACTORIES_SQL,
    dsn,
    session_role,
    today_jst,
)


class Context:
    def __init__(self, pool: asyncpg.Pool, role: str | None) -> None:
        self.pool = pool
        self.role = role
        self.capabilities = DataLoader(load_fn=self._capabilities)
        self.certifications = DataLoader(load_fn=self._certifications)

    async def _capabilities(self, ids: list[UUID]) -> list[list[Capability]]:
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(CAPABILITIES_SQL, ids)
        by_factory: dict[UUID, list[Capability]] = {i: [] for i in ids}
        for c in rows:
            by_factory[c["factory_id"]].append(
                Capability(
                    process=Process(code=c["process_code"], name_en=c["process_name_en"]),
                    materials=list(c["materials"]),
                    best_tolerance_um=float(c["best_tolerance_um"]),
                    max_envelope_mm=c["max_envelope_mm"],
                    min_lot=c["min_lot"],
                    max_lot=c["max_lot"],
                    hours_per_week=float(c["hours_per_week"]),
                    hourly_rate_jpy=c["hourly_rate_jpy"],
                    setup_cost_jpy=c["setup_cost_jpy"],
                    lead_days=c["lead_days"],
                )
            )
        return [by_factory[i] for i in ids]

    async def _certifications(self, ids: list[UUID]) -> list[list[FactoryCertification]]:
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(CERTIFICATIONS_SQL, ids)
        today = today_jst()
        by_factory: dict[UUID, list[FactoryCertification]] = {i: [] for i in ids}
        for c in rows:
            by_factory[c["factory_id"]].append(
                FactoryCertification(
                    code=c["code"],
                    name=c["name"],
                    valid_until=c["valid_until"],
                    is_valid=c["valid_until"] >= today,
                )
            )
        return [by_factory[i] for i in ids]


@strawberry.type
class Me:
    role: str


@strawberry.type
class Prefecture:
    code: str
    name_en: str


@strawberry.type
class Process:
    code: str
    name_en: str


@strawberry.type
class FactoryCertification:
    code: str
    name: str
    valid_until: dt.date
    is_valid: bool


@strawberry.type
class Capability:
    process: Process
    materials: list[str]
    best_tolerance_um: float
    max_envelope_mm: int
    min_lot: int
    max_lot: int
    hours_per_week: float | None
    hourly_rate_jpy: int | None
    setup_cost_jpy: int | None
    lead_days: int | None


@strawberry.type
class Factory:
    id: strawberry.ID
    name_en: str
    name_ja: str
    city: str
    prefecture: Prefecture
    key: strawberry.Private[UUID]

    @strawberry.field
    async def certifications(self, info: Info[Context, None]) -> list[FactoryCertification]:
        return await info.context.certifications.load(self.key)

    @strawberry.field
    async def capabilities(self, info: Info[Context, None]) -> list[Capability]:
        return await info.context.capabilities.load(self.key)


@strawberry.type
class FactoryEdge:
    node: Factory


@strawberry.type
class FactoryConnection:
    edges: list[FactoryEdge]


@strawberry.type
class Query:
    @strawberry.field
    def me(self, info: Info[Context, None]) -> Me:
        if info.context.role is None:
            raise PermissionError("Sign in.")
        return Me(role=info.context.role)

    @strawberry.field
    async def factories(self, info: Info[Context, None], first: int = 20) -> FactoryConnection:
        if info.context.role != "coordinator":
            raise PermissionError("Coordinators only in this peer.")
        async with info.context.pool.acquire() as conn:
            rows = await conn.fetch(FACTORIES_SQL, first)
        return FactoryConnection(
            edges=[
                FactoryEdge(
                    node=Factory(
                        id=strawberry.ID(str(r["id"])),
                        name_en=r["name_en"],
                        name_ja=r["name_ja"],
                        city=r["city"],
                        prefecture=Prefecture(code=r["prefecture"], name_en=r["prefecture_name_en"]),
                        key=r["id"],
                    )
                )
                for r in rows
            ]
        )


schema = strawberry.Schema(
    query=Query, extensions=[lambda: ParserCache(maxsize=100), lambda: ValidationCache(maxsize=100)]
)


class VanillaGraphQL(GraphQL[Context, None]):
    def __init__(self, state: dict[str, Any]) -> None:
        super().__init__(schema, graphql_ide=None)
        self.state = state

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        pool: asyncpg.Pool = self.state["pool"]
        async with pool.acquire() as conn:
            role = await session_role(conn, request.headers.get("authorization"))
        return Context(pool, role)


def app() -> Starlette:
    state: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state["pool"] = await asyncpg.create_pool(dsn(), min_size=1, max_size=10)
        try:
            yield
        finally:
            await state["pool"].close()

    return Starlette(routes=[Route("/graphql", VanillaGraphQL(state), methods=["POST"])], lifespan=lifespan)
