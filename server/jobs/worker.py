"""The solve worker: takes jobs from pgqueuer, builds the Problem, solves it in a child process, stores it.

Many workers on many machines may share one database: pgqueuer hands each queue row to one worker
(``FOR UPDATE SKIP LOCKED``), wakes idle workers by LISTEN/NOTIFY, and while a job runs its worker's
heartbeat keeps it; a job whose heartbeat is older than ``heartbeat_s`` (its worker was killed, or lost its
machine) is handed to another worker. This module adds what pgqueuer cannot know:

- **attempts**: each start counts in ``solve_jobs.attempts``; a job whose worker died
  :data:`MAX_ATTEMPTS` times fails instead of killing workers forever. A worker that is shut down gives its
  attempt back and puts the job back on the queue, so restarts never lose or fail a job.
- **exactly one result**: only the current attempt may write progress or results (``attempts`` is compared
  in every update), and :data:`server.jobs.plugins.ResultStore` is keyed on the job.
- **cancel**: the worker polls its job every second during the solve and kills the solver child when the
  job was cancelled (or taken over by another attempt).
- **deadlines**: once a minute, likewise, the deadline task (:mod:`server.invitations.deadlines`: bidding
  closes, quotes expire, overdue invitations count as declines and get a repair solve).
- **sweep**: once a minute (pgqueuer's scheduler runs it on one worker per tick) an unfinished job whose queue
  row is gone — its worker failed while the database was unreachable, so pgqueuer dropped the row — is queued
  again (:func:`sweep_orphans`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from datetime import timedelta
from uuid import UUID

import asyncpg
from pgqueuer import AsyncpgPoolDriver, Queries, QueueManager, RetryRequested, SchedulerManager
from pgqueuer.models import Job, Schedule
from pgqueuer.ports.repository import EntrypointExecutionParameter

from server.clock import SYSTEM_CLOCK
from server.db import Pool, transaction
from server.invitations import deadlines
from server.jobs import queue, repo
from server.jobs.plugins import PLUGINS, JobInputError, JobSolution, Plugins, SolveRequest
from server.jobs.solving import (
    ProgressEvent,
    SolverCrashed,
    SolveSpec,
    SolveStopped,
    run_solver,
    spawn_solver,
    stop_solver,
)
from server.proposals import plugin as domain_plugin
from solver import ProblemError, problem_to_json, solution_from_json

log = logging.getLogger("machikoba.jobs")

MAX_ATTEMPTS = 3
"""Starts of one job before it fails: its worker died (or the solver crashed) this many times."""

SWEEP_CRON = "* * * * *"
"""When :func:`sweep_orphans` runs (pgqueuer's scheduler, once per tick among all workers)."""
SWEEP_QUIET_S = 60.0
"""An orphan must have been unchanged this long: a job being queued or taken over is never swept."""


async def sweep_orphans(pool: Pool, *, quiet_for_s: float = SWEEP_QUIET_S) -> list[UUID]:
    """Queue again every unfinished job that has lost its queue row; returns their ids."""
    async with transaction(pool) as conn:
        orphans = await repo.orphaned_jobs(conn, quiet_for_s=quiet_for_s)
        for job in orphans:
            queue_job_id = await queue.enqueue(conn, job_id=job.id)
            await repo.back_to_queued(conn, job_id=job.id, queue_job_id=queue_job_id)
    for job in orphans:
        log.warning("solve job %s (%s) had lost its queue row; queued again", job.id, job.status)
    return [job.id for job in orphans]


@dataclass(frozen=True)
class WorkerConfig:
    """``jobs`` solved at once by this worker, each with ``solver_threads`` CP-SAT threads; ``heartbeat_s``
    after the last heartbeat another worker takes a job over; ``poll_s`` between checks for a cancel."""

    jobs: int = 1
    solver_threads: int = 2
    heartbeat_s: float = 30.0
    poll_s: float = 1.0
    dequeue_timeout_s: float = 5.0
    # For tests and benchmarks only: solve by CP-SAT's deterministic time (``SolveSpec.deterministic``).
    deterministic_solves: bool = False


@dataclass
class _CappedQueueManager(QueueManager):
    """pgqueuer's manager holding at most ``cap`` jobs of this worker at once.

    pgqueuer's own per-worker cap (``max_concurrent_tasks``) must be at least twice the batch size, so never
    1; a solve takes all the cores it is given, and a job held but not started here would wait while another
    worker is idle. So the dequeue asks only for the free places.
    """

    cap: int = 1
    idle_timeout: timedelta = field(default=timedelta(seconds=5))

    def _free(self) -> int:
        return self.cap - len(self.job_context)

    async def fetch_jobs(
        self, batch_size: int, global_concurrency_limit: int | None, heartbeat_timeout: timedelta
    ) -> AsyncGenerator[Job, None]:
        while not self.shutdown.is_set() and self._free() > 0:
            jobs = await self.queries.dequeue(
                batch_size=min(batch_size, self._free()),
                entrypoints={
                    x: EntrypointExecutionParameter(concurrency_limit=0) for x in self.entrypoint_registry
                },
                queue_manager_id=self.queue_manager_id,
                global_concurrency_limit=global_concurrency_limit,
                heartbeat_timeout=heartbeat_timeout,
            )
            if not jobs:
                break
            for job in jobs:
                yield job

    async def _effective_dequeue_timeout(self, dequeue_timeout: timedelta) -> timedelta:
        # Full: wait for a notification (a job of ours ending deletes its queue row, which notifies).
        if self._free() <= 0:
            return self.idle_timeout
        return await super()._effective_dequeue_timeout(dequeue_timeout)


class Worker:
    """One worker process's loop (``machikoba worker``, or inside ``machikoba serve``).

    ``pool`` is the service's pool (our tables); pgqueuer gets its own small pool on ``dsn``.
    """

    def __init__(
        self, pool: Pool, dsn: str, *, config: WorkerConfig | None = None, plugins: Plugins | None = None
    ) -> None:
        self.pool = pool
        self.dsn = dsn
        self.config = config or WorkerConfig()
        if plugins is None:
            # Every worker (``machikoba worker``, the in-process one of ``serve``) builds its Problems from
            # the database and stores proposals; a request carrying a Problem JSON is still solved as given.
            domain_plugin.install()
        self.plugins = plugins or PLUGINS
        self._stopping = False
        self._manager: _CappedQueueManager | None = None
        self._scheduler: SchedulerManager | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._spare: asyncio.Task[asyncio.subprocess.Process] | None = None
        self.started = asyncio.Event()

    async def run(self) -> None:
        """Take and run jobs until :meth:`stop`."""
        queue_pool = await asyncpg.create_pool(self.dsn, min_size=2, max_size=6)
        assert queue_pool is not None
        try:
            manager = _CappedQueueManager(Queries(AsyncpgPoolDriver(queue_pool)), cap=self.config.jobs)
            manager.idle_timeout = timedelta(seconds=self.config.dequeue_timeout_s)
            manager.entrypoint(queue.ENTRYPOINT, accepts_context=False)(self._handle)
            scheduler = SchedulerManager(Queries(AsyncpgPoolDriver(queue_pool)))
            scheduler.schedule("machikoba.sweep_solve_jobs", SWEEP_CRON, accepts_context=False)(self._sweep)
            scheduler.schedule("machikoba.deadlines", deadlines.DEADLINES_CRON, accepts_context=False)(
                self._deadlines
            )
            self._manager, self._scheduler = manager, scheduler
            if self._stopping:  # stop() came while the pool was being opened
                return
            self._spare = asyncio.create_task(spawn_solver())
            self.started.set()
            log.info(
                "solve worker %s started (%d job(s) at once)", manager.queue_manager_id, self.config.jobs
            )
            async with asyncio.TaskGroup() as group:
                group.create_task(scheduler.run())
                group.create_task(
                    manager.run(
                        dequeue_timeout=timedelta(seconds=self.config.dequeue_timeout_s),
                        batch_size=1,
                        heartbeat_timeout=timedelta(seconds=self.config.heartbeat_s),
                    )
                )
        finally:
            await self._drop_spare()
            await queue_pool.close()

    async def stop(self, timeout_s: float = 30.0) -> None:
        """Stop taking jobs; a job being solved goes back to the queue (for this or another worker)."""
        self._stopping = True
        await self._drop_spare()
        if self._running:
            await asyncio.wait(self._running, timeout=timeout_s)
        if self._manager is not None:
            self._manager.shutdown.set()
        if self._scheduler is not None:
            self._scheduler.shutdown.set()

    async def _sweep(self, schedule: Schedule) -> None:
        await sweep_orphans(self.pool)

    async def _deadlines(self, schedule: Schedule) -> None:
        await deadlines.run_deadlines(self.pool, now=SYSTEM_CLOCK.now())

    async def _take_spare(self) -> asyncio.subprocess.Process | None:
        """The solver child started ahead (None if it failed or died), and start the next one."""
        spare, self._spare = self._spare, None
        if not self._stopping:
            self._spare = asyncio.create_task(spawn_solver())
        if spare is None:
            return None
        try:
            proc = await spare
        except OSError:
            log.exception("could not start a spare solver process")
            return None
        return proc if proc.returncode is None else None

    async def _drop_spare(self) -> None:
        spare, self._spare = self._spare, None
        if spare is not None:
            with contextlib.suppress(Exception):
                await stop_solver(await spare)

    async def _handle(self, job: Job) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        try:
            await self.run_job(queue.job_id_of(job.payload))
        finally:
            self._running.discard(task)

    # --- one job -----------------------------------------------------------------------------------------

    async def run_job(self, job_id: UUID) -> None:
        """Run one attempt of job ``job_id``; raises ``RetryRequested`` to have pgqueuer queue it again."""
        job = await self._claim(job_id)
        if job is None:
            return
        attempt = job.attempts
        try:
            await self._solve_and_store(job, attempt)
        except asyncio.CancelledError:
            # The worker is being torn down without stop(): keep the job queued for the next one.
            await asyncio.shield(self._requeue_elsewhere(job_id, attempt))
            raise
        except RetryRequested:
            raise
        except Exception as exc:
            # A bug or a database error: this attempt failed; retried with back-off, or failed for good.
            log.exception("solve job %s attempt %d raised", job_id, attempt)
            await self._failed_attempt(job_id, attempt, f"{type(exc).__name__}: {exc}")

    async def _claim(self, job_id: UUID) -> repo.SolveJob | None:
        """Start a new attempt, or None when there is nothing to run (finished, cancelled, given up)."""
        async with transaction(self.pool) as conn:
            job = await repo.job_for_update(conn, job_id=job_id)
            if job is None:
                log.warning("queue row for unknown solve job %s dropped", job_id)
                return None
            if job.is_finished:
                return None
            if job.cancel_requested_at is not None:
                await repo.finish(conn, job_id=job_id, status="cancelled")
                return None
            if job.attempts >= MAX_ATTEMPTS:
                await repo.finish(
                    conn,
                    job_id=job_id,
                    status="failed",
                    error=job.error
                    or f"The solve was started {job.attempts} times and its worker stopped each time.",
                )
                return None
            if job.status == "running":
                log.warning(
                    "solve job %s: attempt %d stopped without finishing; running it again",
                    job_id,
                    job.attempts,
                )
            return await repo.start_attempt(conn, job_id=job_id)

    async def _solve_and_store(self, job: repo.SolveJob, attempt: int) -> None:
        try:
            async with self.pool.acquire() as conn:
                started = time.perf_counter()
                text = await repo.problem_text(conn, job_id=job.id)
                given = await asyncio.to_thread(json.loads, text) if text is not None else None
                request = SolveRequest.from_json(job.request, problem=given)
                problem = await self.plugins.build_problem(conn, job.rfq_id, request)
                built = time.perf_counter()
                problem_json = await asyncio.to_thread(problem_to_json, problem)
                problem_text = await asyncio.to_thread(json.dumps, problem_json)
                await repo.save_problem(conn, job_id=job.id, problem_json=problem_text)
                log.info(
                    "solve job %s attempt %d: Problem %s in %.2f s, saved (%.1f MB) in %.2f s",
                    job.id,
                    attempt,
                    "parsed" if given is not None else "built",
                    built - started,
                    len(problem_text) / 1e6,
                    time.perf_counter() - built,
                )
        except (JobInputError, ProblemError) as exc:
            await self._finish(job.id, attempt, "failed", f"No Problem to solve: {exc}")
            return
        spec = SolveSpec(
            problem=problem_json,
            presets=request.presets,
            alternatives=request.alternatives,
            time_limit_s=float(request.time_limit_s),
            workers=self.config.solver_threads,
            deterministic=self.config.deterministic_solves,
        )
        try:
            found = await run_solver(
                spec,
                on_progress=lambda event: self._progress(job.id, attempt, event),
                should_stop=lambda: self._should_stop(job.id, attempt),
                poll_s=self.config.poll_s,
                process=await self._take_spare(),
            )
        except SolveStopped as stopped:
            if stopped.reason == "cancelled":
                await self._finish(job.id, attempt, "cancelled")
            elif stopped.reason == "shutdown":
                async with transaction(self.pool) as conn:
                    await repo.requeue(conn, job_id=job.id, attempt=attempt, error=None)
                raise RetryRequested(delay=timedelta(0), reason="worker shutting down") from None
            return  # superseded: another attempt owns the job now
        except (SolverCrashed, OSError) as exc:
            await self._failed_attempt(job.id, attempt, str(exc))
            return
        solutions = await asyncio.to_thread(
            lambda: [
                JobSolution(rank=i + 1, preset=preset, solution=solution_from_json(data))
                for i, (preset, data) in enumerate(found)
            ]
        )
        async with transaction(self.pool) as conn:
            current = await repo.job_for_update(conn, job_id=job.id)
            if current is None or current.status != "running" or current.attempts != attempt:
                return
            if current.cancel_requested_at is not None:
                await repo.finish(conn, job_id=job.id, status="cancelled")
                return
            await self.plugins.store_results(conn, job.id, solutions)
            await repo.finish(conn, job_id=job.id, status="succeeded")
        log.info("solve job %s succeeded with %d solution(s)", job.id, len(solutions))

    async def _failed_attempt(self, job_id: UUID, attempt: int, error: str) -> None:
        """A failure that another attempt may not repeat: retry with back-off, or fail for good."""
        log.error("solve job %s attempt %d failed: %s", job_id, attempt, error)
        if attempt >= MAX_ATTEMPTS:
            await self._finish(job_id, attempt, "failed", error)
            return
        async with transaction(self.pool) as conn:
            requeued = await repo.requeue(conn, job_id=job_id, attempt=attempt, error=error)
        if requeued is not None:
            raise RetryRequested(delay=timedelta(seconds=2**attempt), reason=error)

    async def _finish(self, job_id: UUID, attempt: int, status: str, error: str | None = None) -> None:
        async with transaction(self.pool) as conn:
            current = await repo.job_for_update(conn, job_id=job_id)
            if current is not None and current.status == "running" and current.attempts == attempt:
                await repo.finish(conn, job_id=job_id, status=status, error=error)

    async def _requeue_elsewhere(self, job_id: UUID, attempt: int) -> None:
        """Queue the job again with a new queue row (pgqueuer drops the row of a task it saw cancelled)."""
        with contextlib.suppress(Exception):
            async with transaction(self.pool) as conn:
                job = await repo.requeue(conn, job_id=job_id, attempt=attempt, error=None)
                if job is not None:
                    queue_job_id = await queue.enqueue(conn, job_id=job_id)
                    await repo.set_queue_job_id(conn, job_id=job_id, queue_job_id=queue_job_id)

    async def _progress(self, job_id: UUID, attempt: int, event: ProgressEvent) -> None:
        async with transaction(self.pool) as conn:
            await repo.record_progress(
                conn,
                job_id=job_id,
                attempt=attempt,
                objective=event.objective,
                bound=event.bound,
                gap=event.gap,
                elapsed_s=event.elapsed_s,
                preset=event.preset,
                phase=event.phase,
            )

    async def _should_stop(self, job_id: UUID, attempt: int) -> str | None:
        if self._stopping:
            return "shutdown"
        async with self.pool.acquire() as conn:
            state = await repo.attempt_state(conn, job_id=job_id)
        if state is None:
            return "cancelled"
        status, attempts, cancel = state
        if status != "running" or attempts != attempt:
            return "superseded"
        return "cancelled" if cancel else None


def config_from_settings(jobs: int, solver_threads: int, heartbeat_s: int) -> WorkerConfig:
    """The worker configuration :class:`server.settings.Settings` describes."""
    return WorkerConfig(jobs=jobs, solver_threads=solver_threads, heartbeat_s=float(heartbeat_s))


__all__ = ["MAX_ATTEMPTS", "Worker", "WorkerConfig", "config_from_settings", "sweep_orphans"]
