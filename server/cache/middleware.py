"""The response cache in front of ``/graphql``: a pure ASGI wrapper that answers repeated registry reads
without running GraphQL at all.

A POST whose JSON body is a registry-only query (:mod:`server.cache.documents`) is keyed by

    (document printed from its AST, operation name, variables, the caller's visibility class, today in Japan)

where the class is :func:`server.factories.rules.registry_class` of the caller's principal — the same rules
the services and types decide by. Before answering, the request reads the registry generation (one round
trip shared by concurrent requests, :mod:`server.cache.generation`): a newer one drops the whole cache, so
no caller gets an answer older than a write committed before its request, in any process. A miss runs the
request as usual and keeps the body when it is a 200 without ``errors``. Anything else passes through
untouched: other documents, other bodies, credentials that are not valid, or no registry connection.

The principal is worked out here once and handed to the GraphQL view in the ASGI scope
(:func:`principal_of`), so a miss does not authenticate twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from graphql import GraphQLSchema
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server import clock as clocks
from server import db
from server.auth.principal import Principal
from server.auth.service import principal_from_token
from server.cache.documents import Plan, Plans
from server.cache.generation import RegistryGeneration
from server.cache.store import Key, ResponseStore, Stats
from server.factories.rules import registry_class
from server.middleware import media_type
from server.settings import Settings

_PRINCIPAL = "machikoba.principal"
"""Where in ``scope["state"]`` the cache leaves the principal it authenticated."""

CACHE_HEADER = "x-machikoba-cache"
"""In dev only: ``hit``, ``shared`` (a concurrent miss's answer), ``miss`` or ``bypass``, for tests and
benchmarks (in prod it would tell a caller what others of its class asked)."""

Lifespan = Callable[[Starlette], contextlib.AbstractAsyncContextManager[None]]

_BODY_KEYS = frozenset({"query", "variables", "operationName"})


def principal_of(scope: Scope) -> Principal | None:
    """The principal the cache authenticated for this request, if it did."""
    state = scope.get("state") or {}
    principal = state.get(_PRINCIPAL)
    return principal if isinstance(principal, Principal) else None


class ResponseCache:
    """Wraps the GraphQL app; ``state["pool"]`` is the application's pool (None while it starts)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        schema: GraphQLSchema,
        state: dict[str, Any],
        settings: Settings,
        clock: clocks.Clock,
    ) -> None:
        self.app = app
        self.state = state
        self.settings = settings
        self.clock = clock
        self.enabled = settings.response_cache
        self.store = ResponseStore(max_bytes=settings.response_cache_mb * 1024 * 1024)
        self.plans = Plans(schema, max_tokens=settings.max_query_tokens)
        self._generation: RegistryGeneration | None = None
        self._running: dict[tuple[Key, int], asyncio.Future[bytes | None]] = {}

    @property
    def stats(self) -> Stats:
        return self.store.stats

    def generation_of(self, pool: db.Pool) -> RegistryGeneration:
        """The registry connection of ``pool`` (a new one when the application's pool changed)."""
        if self._generation is None or self._generation.pool is not pool:
            self.store.observe(None)
            self._generation = RegistryGeneration(pool, self.store.observe)
        return self._generation

    async def close(self) -> None:
        """Stop listening; the application is shutting down."""
        if self._generation is not None:
            await self._generation.close()
            self._generation = None
        self.store.observe(None)

    def closing(self, lifespan: Lifespan) -> Lifespan:
        """``lifespan``, then :meth:`close` when it ends."""

        @contextlib.asynccontextmanager
        async def wrapped(app: Starlette) -> AsyncIterator[None]:
            try:
                async with lifespan(app):
                    yield
            finally:
                await self.close()

        return wrapped

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        pool: db.Pool | None = self.state.get("pool")
        if not self.enabled or pool is None or scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if not (headers.get("content-type") or "").lower().startswith("application/json"):
            await self.app(scope, receive, send)
            return
        body, receive = await _buffered(receive)
        request = self._cacheable(body)
        if request is None:
            await self._bypass(scope, receive, send)
            return
        plan, operation, variables = request
        principal = await principal_from_token(
            pool,
            headers.get("authorization"),
            now=self.clock.now(),
            sessions=self.settings.session_policy,
        )
        scope.setdefault("state", {})[_PRINCIPAL] = principal
        if principal.auth_error is not None:
            await self._bypass(scope, receive, send)
            return
        generation = await self.generation_of(pool).read()
        if generation is None:
            await self._bypass(scope, receive, send)
            return
        epoch = self.store.observe(generation)
        key = (
            plan.normalized,
            operation,
            variables,
            registry_class(principal),
            clocks.today(self.clock).isoformat(),
        )
        cached = self.store.get(key)
        if cached is None and (running := self._running.get((key, epoch))) is not None:
            # The same answer is being computed in this epoch: it is as fresh as ours would be.
            shared = await asyncio.shield(running)
            if shared is not None:
                self.store.stats.shared += 1
                await self._answer(send, shared, accept=headers.get("accept"), label=b"shared")
                return
        if cached is not None:
            await self._answer(send, cached, accept=headers.get("accept"), label=b"hit")
            return
        await self._compute(scope, receive, send, key=key, epoch=epoch)

    async def _compute(self, scope: Scope, receive: Receive, send: Send, *, key: Key, epoch: int) -> None:
        """Run a miss; requests for the same key in the same epoch wait for it rather than run it again
        (after a write, every connection would otherwise miss at once)."""
        running = self._running.get((key, epoch))
        mine = running is None
        if mine:
            running = self._running[key, epoch] = asyncio.get_running_loop().create_future()
        answer: bytes | None = None
        try:
            answer = await self._run(scope, receive, send, label=b"miss")
            if answer is not None:
                self.store.put(key, answer, epoch=epoch)
        finally:
            if mine and running is not None:
                self._running.pop((key, epoch), None)
                running.set_result(answer)

    def _cacheable(self, body: bytes) -> tuple[Plan, str, str] | None:
        """(plan, operation name, variables as canonical JSON) of a body the cache may answer, else None."""
        try:
            request = json.loads(body)
        except ValueError:
            return None
        if not isinstance(request, dict) or not request.keys() <= _BODY_KEYS:
            return None  # a batch, extensions (persisted queries …): strawberry decides
        query, operation, variables = (
            request.get("query"),
            request.get("operationName"),
            request.get("variables"),
        )
        if (
            not isinstance(query, str)
            or not isinstance(operation, str | None)
            or not isinstance(variables, dict | None)
        ):
            return None
        plan = self.plans.get(query)
        if plan is None:
            return None
        return plan, operation or "", json.dumps(variables or {}, sort_keys=True, separators=(",", ":"))

    async def _bypass(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.store.stats.bypassed += 1
        await self._run(scope, receive, send, label=b"bypass")

    async def _run(self, scope: Scope, receive: Receive, send: Send, *, label: bytes) -> bytes | None:
        """Run the request through GraphQL; its body when it may be cached (200, JSON, no errors)."""
        status = 0
        chunks: list[bytes] = []
        dev = self.settings.is_dev

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if dev:
                    message["headers"] = [*message.get("headers", []), (CACHE_HEADER.encode(), label)]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, capture)
        body = b"".join(chunks)
        # `"errors"` outside a JSON string is the errors entry; inside one its quotes would be escaped. A
        # string value "errors" makes this skip a good answer, which is safe.
        if status != 200 or b'"errors"' in body:
            return None
        return body

    async def _answer(self, send: Send, body: bytes, *, accept: str | None, label: bytes) -> None:
        headers = [
            (b"content-type", media_type(accept).encode()),
            (b"content-length", str(len(body)).encode()),
        ]
        if self.settings.is_dev:
            headers.append((CACHE_HEADER.encode(), label))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _buffered(receive: Receive) -> tuple[bytes, Callable[[], Awaitable[Message]]]:
    """The whole request body, and a ``receive`` that hands it to the next app again."""
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            # The client left: the next app sees the disconnect as it would have.
            return b"".join(chunks), _repeat(message)
        chunks.append(message.get("body", b""))
        more = bool(message.get("more_body", False))
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


def _repeat(message: Message) -> Callable[[], Awaitable[Message]]:
    async def receive() -> Message:
        return message

    return receive
