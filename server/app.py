"""The ASGI application: /graphql (HTTP and graphql-transport-ws), /healthz, CORS, and in the lifespan the
database pool and, unless ``MACHIKOBA_INPROCESS_WORKER=0``, one solve worker (:mod:`server.jobs.worker`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from schema.context import Context
from schema.schema import build_schema
from server import clock as clocks
from server import db
from server.auth.service import principal_from_token
from server.jobs.worker import Worker, config_from_settings
from server.migrate import migrate
from server.settings import Settings

log = logging.getLogger(__name__)


class MachikobaGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI view with our per-request context."""

    def __init__(self, settings: Settings, state: dict[str, Any], clock: clocks.Clock) -> None:
        super().__init__(
            build_schema(mask_errors=not settings.is_dev),
            graphql_ide="graphiql" if settings.is_dev else None,
            allow_queries_via_get=False,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            # Browsers send cookies with WebSockets to any origin; ours authenticate with tokens, but only
            # the CORS origins may open one from a page anyway.
            allowed_origins=list(settings.cors_origins),
        )
        self.settings = settings
        self.state = state
        self.clock = clock

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        pool: db.Pool = self.state["pool"]
        principal = await principal_from_token(
            pool,
            request.headers.get("authorization"),
            now=self.clock.now(),
            sessions=self.settings.session_policy,
        )
        return Context(
            request=request if isinstance(request, Request) else None,
            pool=pool,
            settings=self.settings,
            principal=principal,
            clock=self.clock,
        )

    async def on_ws_connect(self, context: Context) -> None:
        """A WebSocket client sends its token in connection_init: ``{"authorization": "Bearer …"}``."""
        params = context.connection_params or {}
        token = params.get("authorization") or params.get("Authorization")
        if isinstance(token, str):
            context.principal = await principal_from_token(
                context.pool, token, now=self.clock.now(), sessions=self.settings.session_policy
            )


def _report_worker_end(task: asyncio.Task[None]) -> None:
    """The in-process worker ends only at shutdown; an error that ends it earlier goes to the log at once."""
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("the in-process solve worker stopped: %s", exc, exc_info=exc)


def create_app(
    settings: Settings, *, pool: db.Pool | None = None, clock: clocks.Clock = clocks.SYSTEM_CLOCK
) -> Starlette:
    """The application. Given a ``pool`` (tests), it uses it; otherwise the lifespan opens one.

    ``clock`` is what "today" means for every request (tests fix it with :class:`server.clock.FixedClock`).
    """
    state: dict[str, Any] = {"pool": pool}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if state["pool"] is not None:
            yield
            return
        dsn = db.resolve_dsn(settings)
        own_pool = await db.create_pool(dsn)
        async with own_pool.acquire() as conn:
            applied = await migrate(conn)
        if applied:
            log.info("applied migrations: %s", ", ".join(applied))
        state["pool"] = own_pool
        worker: Worker | None = None
        worker_task: asyncio.Task[None] | None = None
        if settings.inprocess_worker:
            worker = Worker(
                own_pool,
                dsn,
                config=config_from_settings(
                    settings.worker_jobs, settings.solver_threads, settings.job_heartbeat_s
                ),
            )
            worker_task = asyncio.create_task(worker.run(), name="solve-worker")
            worker_task.add_done_callback(_report_worker_end)
        try:
            yield
        finally:
            if worker is not None and worker_task is not None:
                # A job being solved goes back to the queue; the next start (or another worker) resumes it.
                await worker.stop()
                try:
                    await asyncio.wait_for(worker_task, timeout=30)
                except Exception:
                    log.exception("the in-process solve worker did not stop cleanly")
            state["pool"] = None
            await own_pool.close()

    async def healthz(request: Request) -> JSONResponse:
        pool: db.Pool | None = state["pool"]
        if pool is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        async with pool.acquire() as conn:
            await conn.fetchval("SELECT 1")
        return JSONResponse({"status": "ok"})

    graphql_app = MachikobaGraphQL(settings, state, clock)
    return Starlette(
        routes=[
            Route("/graphql", graphql_app, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql_app),
            Route("/healthz", healthz),
        ],
        middleware=[
            # A browser client on another origin sends bearer tokens, never cookies: no credentials mode.
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=["authorization", "content-type"],
                allow_credentials=False,
                max_age=600,
            )
        ],
        lifespan=lifespan,
    )
