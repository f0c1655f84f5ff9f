"""The pool hands connections to waiting tasks first come, first served (server.db.FairPool)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from server import db
from tests.conftest import TestDatabase

Reset = Callable[[asyncpg.Connection], Awaitable[None]]


async def _order_of_service(
    database: TestDatabase, make_pool: Callable[[Reset], Awaitable[db.Pool]]
) -> list[str]:
    """Two tasks wait for the only connection; a third asks for it just as it comes back (woken by the
    pool's reset, i.e. scheduled before the first waiter can run). The order in which they got it."""
    back = asyncio.Event()

    async def reset(conn: asyncpg.Connection) -> None:
        back.set()

    pool = await make_pool(reset)
    order: list[str] = []

    async def use(name: str, after: asyncio.Event | None = None) -> None:
        if after is not None:
            await after.wait()
        async with pool.acquire() as conn:
            order.append(name)
            await conn.fetchval("SELECT 1")

    try:
        held = await pool.acquire()
        waiting = [asyncio.create_task(use("first")), asyncio.create_task(use("second"))]
        await asyncio.sleep(0.05)  # both wait for the connection
        late = asyncio.create_task(use("late", after=back))
        await asyncio.sleep(0.05)
        await pool.release(held)
        await asyncio.wait_for(asyncio.gather(*waiting, late), 10)
    finally:
        await pool.close()
    return order


async def test_a_connection_goes_to_the_task_that_waited_longest(database: TestDatabase) -> None:
    # given / when
    async def fair(reset: Reset) -> db.Pool:
        return await db.create_pool(
            database.admin_dsn, database=database.name, min_size=1, max_size=1, reset=reset
        )

    async def plain(reset: Reset) -> db.Pool:
        pool = await asyncpg.create_pool(
            database.admin_dsn, database=database.name, min_size=1, max_size=1, reset=reset
        )
        assert pool is not None
        return pool

    # then: the latecomer waits its turn; asyncpg's own pool lets it jump the queue
    assert await _order_of_service(database, fair) == ["first", "second", "late"]
    assert (await _order_of_service(database, plain))[0] == "late"


async def take(pool: db.Pool, timeout: float | None = None) -> PoolConnectionProxy:  # noqa: ASYNC109
    return await pool.acquire(timeout=timeout)


async def test_a_waiter_that_gives_up_loses_no_connection(database: TestDatabase) -> None:
    pool = await db.create_pool(database.admin_dsn, database=database.name, min_size=1, max_size=2)
    try:
        # given both connections taken, and tasks waiting: one cancelled, one timed out
        held = [await pool.acquire(), await pool.acquire()]
        cancelled = asyncio.create_task(take(pool))
        await asyncio.sleep(0.05)
        cancelled.cancel()
        timed_out = asyncio.create_task(take(pool, timeout=0.05))
        await asyncio.sleep(0.2)
        assert cancelled.cancelled()
        assert isinstance(timed_out.exception(), TimeoutError)
        # when the connections come back (one of them released twice)
        await pool.release(held[0])
        await pool.release(held[0])
        await pool.release(held[1])
        # then both can be had at once, and a third waits
        again = [await asyncio.wait_for(take(pool), 5) for _ in range(2)]
        third = asyncio.create_task(take(pool))
        await asyncio.sleep(0.05)
        assert not third.done()
        await pool.release(again[0])
        await pool.release(await asyncio.wait_for(third, 5))
        await pool.release(again[1])
    finally:
        await pool.close()
