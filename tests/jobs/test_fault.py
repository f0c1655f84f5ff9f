"""Faults: a `machikoba worker` killed mid-solve is replaced, and the job completes exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import signal
import sys
from pathlib import Path
from uuid import UUID

from server import db
from server.jobs import events, repo, service
from server.jobs.plugins import SolveRequest
from tests.conftest import Caller, TestDatabase
from tests.jobs.conftest import (
    counts,
    eventually,
    job_row,
    long_problem,
    until_progress,
    until_queue_empty,
    until_status,
)


async def start_worker(database: TestDatabase, data_dir: Path) -> asyncio.subprocess.Process:
    """``machikoba worker`` on the test database, as an operator would start it."""
    env = {
        **os.environ,
        "DATABASE_URL": database.dsn,
        "MACHIKOBA_DATA_DIR": str(data_dir),
        "MACHIKOBA_JOB_HEARTBEAT_S": "2",
        "MACHIKOBA_SOLVER_THREADS": "1",
    }
    command = Path(sys.executable).with_name("machikoba")
    return await asyncio.create_subprocess_exec(
        str(command), "worker", env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )


def children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its reaper has ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


async def test_a_killed_worker_is_replaced_and_the_job_completes_once(
    pool: db.Pool, database: TestDatabase, coordinator: Caller, rfq_id: str, tmp_path: Path
) -> None:
    # given a queued job with a solve of several seconds, and someone watching it from this process
    request = SolveRequest(problem=long_problem(), time_limit_s=8)
    job = await service.request_solve(pool, coordinator.principal, rfq_id=UUID(rfq_id), request=request)
    seen: list[repo.SolveJob] = []

    async def watch() -> None:
        async for state in events.watch_job(pool, coordinator.principal, job_id=job.id, poll_s=60):
            seen.append(state)

    watcher = asyncio.create_task(watch())
    first = await start_worker(database, tmp_path)
    second: asyncio.subprocess.Process | None = None
    try:
        # when the first worker's solve has found a solution, the worker is killed outright
        await until_progress(pool, job.id, timeout_s=120)
        solvers = children(first.pid)
        assert solvers  # the running solve (and the spare solver child started for the next job)
        first.kill()
        await first.wait()
        # then its solver child notices and ends too
        for pid in solvers:
            await eventually(functools.partial(_ended, pid), timeout_s=30)
        assert (await job_row(pool, job.id)).status == "running"
        # and a second worker takes the job over once its heartbeat is stale, and finishes it
        second = await start_worker(database, tmp_path)
        done = await until_status(pool, job.id, "succeeded", "failed", timeout_s=180)
        assert (done.status, done.attempts) == ("succeeded", 2), done.error
        # and exactly one set of results exists, and the queue is empty
        await until_queue_empty(pool)
        assert await counts(pool) == {"jobs": 1, "solutions": 1, "queue": 0}
        # and the watcher here saw both workers' progress through NOTIFY, in order, ending with success
        await asyncio.wait_for(watcher, timeout=30)
        versions = [s.version for s in seen]
        assert versions == sorted(set(versions))
        assert seen[-1].status == "succeeded"
        assert [s.attempts for s in seen if s.objective is not None and s.status == "running"][-1] == 2
        assert {s.attempts for s in seen if s.objective is not None} >= {1, 2}
    finally:
        watcher.cancel()
        for proc in (first, second):
            if proc is not None and proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), timeout=30)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()


async def _ended(pid: int) -> bool | None:
    return True if not alive(pid) else None
