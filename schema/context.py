"""The per-request context: who is calling, the database pool, settings, the clock, and fresh DataLoaders."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from starlette.requests import Request
from strawberry.dataloader import DataLoader
from strawberry.types import Info as StrawberryInfo

from server import clock as clocks
from server.auth.principal import Principal
from server.catalogue.taxonomy import Taxonomy
from server.db import Pool
from server.errors import RateLimited
from server.settings import Settings

K = TypeVar("K")
V = TypeVar("V")

# A batch function: given the pool and the keys, the values in key order (None where nothing matches).
BatchLoad = Callable[[Pool, list[K]], Awaitable[Sequence[V]]]


@dataclass
class Context:
    """Built once per request by :class:`server.app.MachikobaGraphQL`."""

    request: Request | None
    pool: Pool
    settings: Settings
    principal: Principal
    # The catalogue as of the request's start, for fields that show catalogue entries (no query).
    taxonomy: Taxonomy
    clock: clocks.Clock = clocks.SYSTEM_CLOCK
    # graphql-transport-ws: the payload of the client's connection_init (strawberry sets it), where a
    # browser, which cannot set headers on a WebSocket, sends {"authorization": "Bearer …"}.
    connection_params: dict[str, Any] | None = None
    _sign_in_attempted: bool = False
    _loaders: dict[Any, DataLoader[Any, Any]] = field(default_factory=dict)

    def loader(self, load: BatchLoad[K, V]) -> DataLoader[K, V]:
        """The request's DataLoader for ``load``, created on first use.

        Each domain declares its batch functions next to its types (``factories_by_id`` …); keying the cache
        by the function keeps this context free of any domain knowledge.
        """
        existing = self._loaders.get(load)
        if existing is None:
            pool = self.pool

            async def batch(keys: list[K]) -> Sequence[V]:
                return await load(pool, keys)

            existing = DataLoader(load_fn=batch)
            self._loaders[load] = existing
        return cast(DataLoader[K, V], existing)

    def claim_sign_in(self) -> None:
        """Allow one password check per request: aliases must not turn one request into a brute force."""
        if self._sign_in_attempted:
            raise RateLimited("Only one sign-in or sign-up per request.", retry_after_s=0)
        self._sign_in_attempted = True

    def client_address(self) -> str | None:
        """The peer address of the HTTP connection (the login throttle counts failures per address)."""
        client = self.request.client if self.request is not None else None
        return client.host if client is not None else None

    def today(self) -> dt.date:
        """Today in Japan, by the request's clock (see :mod:`server.clock`)."""
        return clocks.today(self.clock)


Info = StrawberryInfo[Context, None]
