"""The ASGI application: /graphql (HTTP and graphql-transport-ws), /healthz, CORS, limits, security headers,
and in the lifespan the database and, unless ``MACHIKOBA_INPROCESS_WORKER=0``, one solve worker.

GraphQL over HTTP: a client that accepts ``application/graphql-response+json`` gets that media type, and a
request that never reached execution (unreadable, invalid, bad variables, over a limit) answers 4xx without
``data``. A client that accepts only ``application/json`` gets 200 as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Awaitable
from typing import Any, cast

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry import Schema
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult

from schema.context import Context
from schema.limits import limit_error
from schema.schema import MachikobaSchema, build_schema
from server import clock as clocks
from server import db
from server.auth.service import principal_from_token
from server.cache.middleware import ResponseCache, principal_of
from server.catalogue.taxonomy import forget, taxonomy_for
from server.errors import BadRequest, Timeout
from server.jobs.worker import Worker, config_from_settings
from server.middleware import BodySizeLimit, SecurityHeaders, media_type, send_error, wants_graphql_response
from server.migrate import migrate
from server.settings import Settings

log = logging.getLogger(__name__)

# GraphQL-over-HTTP status of a request error, by code, for clients of application/graphql-response+json;
# any other request error is 400 (the request is at fault).
REQUEST_ERROR_STATUS = {Timeout.code: 503}


class MachikobaGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI view with our per-request context, the execution timeout and GraphQL over HTTP."""

    def __init__(self, settings: Settings, state: dict[str, Any], clock: clocks.Clock) -> None:
        super().__init__(
            build_schema(mask_errors=not settings.is_dev, settings=settings),
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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        try:
            checked = self.settings.checked_path and request.method == "POST"
            response = await self.run_checked(request) if checked else None
            if response is None:
                response = await self.run(request)
        except HTTPException as exc:
            # Strawberry answers these in plain text; a GraphQL client reads `errors` in JSON.
            await send_error(scope, send, exc.status_code, BadRequest(exc.reason))
            return
        accept = request.headers.get("accept")
        if wants_graphql_response(accept) and response.media_type == "application/json":
            response.headers["content-type"] = media_type(accept)
            response.status_code = getattr(request.state, "graphql_status", response.status_code)
        await response(scope, receive, send)

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        # Strawberry's, with the body encoded by orjson: several times faster than json.dumps on a page of
        # results. Non-string keys (never in our answers) are written as strings, as json.dumps would.
        response = Response(
            orjson.dumps(response_data, option=orjson.OPT_NON_STR_KEYS), media_type="application/json"
        )
        response.headers.raw.extend(sub_response.headers.raw)
        if sub_response.background:
            response.background = sub_response.background
        if sub_response.status_code:
            response.status_code = sub_response.status_code
        return response

    def decode_json(self, data: str | bytes) -> object:
        decoded = super().decode_json(data)
        if not isinstance(decoded, dict | list):
            # Strawberry reads fields of the body without checking its type: a number, string or null
            # would be a 500.
            raise HTTPException(400, "The request body must be a JSON object.")
        return decoded

    async def run_checked(self, request: Request) -> Response | None:
        """The answer to a JSON POST of a document that passed every check before, or None.

        Most traffic repeats a few documents. Once one has been parsed and validated (by the general
        path, which keeps it in the schema's document cache), a request for it needs none of strawberry's
        HTTP parsing and extension hooks: this path decodes the body, asks the schema whether the document
        can run as it is (:meth:`MachikobaSchema.checked_document`: validated, within the cost limit for
        these variables), and runs it on graphql-core with the same context, deadline, error translation
        and response as the general path. Anything else (another content type, a batch, a streaming
        ``Accept``, an unknown or refused document, a body strawberry would refuse) returns None, and
        :meth:`run` answers it. ``tests/server/test_checked_path.py`` compares both paths' answers.
        """
        accept = request.headers.get("accept") or ""
        content_type = request.headers.get("content-type") or ""
        if "application/json" not in content_type or "multipart" in accept or "event-stream" in accept:
            return None
        try:
            # Strawberry's decoder (json), not orjson: orjson reads a huge integer as a float, so a variable
            # would be coerced, and refused, differently.
            data = self.decode_json(await request.body())
        except ValueError:  # not JSON, or not UTF-8: the general path answers its 400
            return None
        if not isinstance(data, dict) or data.get("extensions") is not None:
            return None
        query, variables, name = data.get("query"), data.get("variables"), data.get("operationName")
        if (
            not isinstance(query, str)
            or not isinstance(variables, dict | None)
            or not isinstance(name, str | None)
        ):
            return None
        schema = cast(MachikobaSchema, self.schema)
        document = schema.checked_document(query, name, variables or {})
        if document is None:
            return None
        sub_response = await self.get_sub_response(request)
        context = await self.get_context(request, sub_response)
        result = await self.within_deadline(
            schema.execute_checked(document, variables=variables, operation_name=name, context=context), name
        )
        return self.create_response(await self.process_result(request, result), sub_response)

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        return await self.within_deadline(
            super().execute_single(request, request_adapter, sub_response, context, root_value, request_data),
            request_data.operation_name,
        )

    async def within_deadline(
        self, execution: Awaitable[ExecutionResult], operation_name: str | None
    ) -> ExecutionResult:
        """``execution``'s result, or a ``TIMEOUT`` error when it runs past the request timeout."""
        limit = self.settings.request_timeout_s
        try:
            async with asyncio.timeout(limit) as deadline:
                return await execution
        except TimeoutError:
            if not deadline.expired():
                raise  # a TimeoutError of the operation's own, not our deadline
            refusal = Timeout(
                limit=limit, message=f"The operation ran longer than {limit:g} s; it was stopped."
            )
            # The operation's name only: its text may hold secrets (a password in an inline literal).
            log.warning("TIMEOUT after %s s: operation %s", limit, operation_name or "(unnamed)")
            return ExecutionResult(data=None, errors=[limit_error(refusal)])

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        body = await super().process_result(request, result)
        errors = result.errors or []
        # A request error: nothing was executed (parse, validation, variables, limits), so no error has a
        # path and there is no data. With graphql-response+json it answers 4xx and has no `data` entry.
        request_error = result.data is None and errors and all(e.path is None for e in errors)
        if request_error and wants_graphql_response(request.headers.get("accept")):
            body.pop("data", None)
            codes = [(e.extensions or {}).get("code") for e in errors]
            request.state.graphql_status = next(
                (REQUEST_ERROR_STATUS[c] for c in codes if c in REQUEST_ERROR_STATUS), 400
            )
        return body

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        pool: db.Pool = self.state["pool"]
        # The response cache (server/cache/) authenticated this request already when it looked at it.
        principal = principal_of(request.scope) or await principal_from_token(
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
            taxonomy=await taxonomy_for(pool).current(),
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
        # Without DATABASE_URL the application owns an embedded server: it stops with the application.
        embedded = (
            None if settings.database_url else await asyncio.to_thread(db.start_embedded, settings.data_dir)
        )
        try:
            dsn = embedded.dsn if embedded is not None else settings.database_url or ""
            own_pool = await db.create_pool(dsn)
            async with own_pool.acquire() as conn:
                applied = await migrate(conn)
            if applied:
                log.info("applied migrations: %s", ", ".join(applied))
            await taxonomy_for(own_pool).current()  # loaded at start, not by the first request
            # Everything built so far (modules, the schema, the catalogue) lives as long as the process:
            # out of the collector's way, a full collection no longer walks it. A heavy read allocates
            # enough to trigger several collections; they cost a quarter of its CPU time before this.
            gc.collect()
            gc.freeze()
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
                    # A job being solved goes back to the queue; the next start (or another worker) resumes.
                    await worker.stop()
                    try:
                        await asyncio.wait_for(worker_task, timeout=30)
                    except Exception:
                        log.exception("the in-process solve worker did not stop cleanly")
                state["pool"] = None
                forget(own_pool)
                await own_pool.close()
        finally:
            if embedded is not None:
                await asyncio.to_thread(embedded.stop)

    async def healthz(request: Request) -> JSONResponse:
        pool: db.Pool | None = state["pool"]
        if pool is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        async with pool.acquire() as conn:
            await conn.fetchval("SELECT 1")
        return JSONResponse({"status": "ok"})

    graphql_app = MachikobaGraphQL(settings, state, clock)
    cache = ResponseCache(
        graphql_app,
        schema=cast(Schema, graphql_app.schema)._schema,
        state=state,
        settings=settings,
        clock=clock,
    )
    app = Starlette(
        routes=[
            Route("/graphql", cache, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql_app),
            Route("/healthz", healthz),
        ],
        # Outermost first: every response gets the security headers, and a refused body its CORS headers.
        middleware=[
            Middleware(SecurityHeaders, worker_pid=settings.is_dev),
            # A browser client on another origin sends bearer tokens, never cookies: no credentials mode.
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=["authorization", "content-type", "accept"],
                allow_credentials=False,
                max_age=600,
            ),
            Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes),
        ],
        lifespan=cache.closing(lifespan),
    )
    app.state.response_cache = cache
    return app
