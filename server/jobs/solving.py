"""CP-SAT off the event loop: each solve runs in a child process (``python -m server.jobs.solving``).

Why a process and not a thread: the solver builds its model, runs its greedy hint and answers CP-SAT's
solution callbacks in Python, holding the GIL for seconds on a large Problem; in a child process none of that
competes with the worker's (or, in the embedded setup, the API's) event loop, so heartbeats and queries keep
their latency (bench/jobs.py measures it). A child can also be stopped at once (cancel, shutdown), which a
thread inside CP-SAT cannot. The child's start (about a second of imports) is paid ahead: a worker keeps one
spare child started (:func:`spawn_solver`) for its next job. The child runs at a lower CPU priority
(:data:`NICENESS`), so that on a shared machine the API and the worker's heartbeats come first.

The protocol, one JSON object per line:

- parent → child (stdin): ``{"problem", "presets", "alternatives", "time_limit_s", "workers", "seed"}``; the
  parent then keeps stdin open. When it closes (the worker died, even by SIGKILL), the child exits.
- child → parent (stdout): ``{"type": "progress", "preset", "objective", "bound", "gap", "elapsed_s",
  "phase"}`` for every improving solution, then ``{"type": "result", "solutions": [{"preset", "solution"}]}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TextIO, cast

from solver import Preset, Progress, alternatives, problem_from_json, solution_to_json, solve

# A solution of a large RFQ is one long line.
_LINE_LIMIT = 256 * 1024 * 1024
_STDERR_TAIL = 4000
# Exit code of a child whose parent went away.
ORPHANED = 70
NICENESS = 10
"""Added to the solver child's nice value: it yields the CPU to the API and the worker when they need it."""
# Messages longer than this are decoded in a thread, off the event loop (a large RFQ's solutions).
_DECODE_IN_THREAD = 64 * 1024


@dataclass(frozen=True)
class SolveSpec:
    """What the child solves: the Problem JSON, the presets in order, how many alternatives of the first."""

    problem: dict[str, Any]
    presets: tuple[str, ...]
    alternatives: int
    time_limit_s: float
    workers: int
    seed: int = 0
    # Tests and benchmarks: bound each solve by CP-SAT's deterministic time (``time_limit_s`` of it, shared as
    # the wall limit would be) instead of the wall clock, so that the answer does not depend on how busy the
    # machine is; the wall limit then is only a safety net (DETERMINISTIC_WALL_FACTOR × the time limit).
    deterministic: bool = False


@dataclass(frozen=True)
class ProgressEvent:
    """An improving solution of one preset's solve; ``elapsed_s`` counts from the start of the job's solve."""

    preset: str
    objective: float
    bound: float
    gap: float
    elapsed_s: float
    phase: str


class SolveStopped(Exception):
    """The solve was stopped on request (``reason``: cancelled, superseded, shutdown); the child is gone."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SolverCrashed(Exception):
    """The child process ended without a result."""


async def spawn_solver() -> asyncio.subprocess.Process:
    """A solver child with its imports done, waiting for the spec on stdin."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.jobs.solving",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        limit=_LINE_LIMIT,
    )


async def stop_solver(proc: asyncio.subprocess.Process) -> None:
    """Kill a solver child (if it still runs) and reap it."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()


def _encode(spec: SolveSpec) -> bytes:
    fields = {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec)}
    return json.dumps(fields, separators=(",", ":")).encode() + b"\n"


async def run_solver(
    spec: SolveSpec,
    *,
    on_progress: Callable[[ProgressEvent], Awaitable[None]],
    should_stop: Callable[[], Awaitable[str | None]],
    poll_s: float = 1.0,
    process: asyncio.subprocess.Process | None = None,
) -> list[tuple[str, dict[str, Any]]]:
    """Solve ``spec`` in a child process (``process``, from :func:`spawn_solver`, or a new one); return
    ``[(preset, solution JSON)]`` in rank order.

    ``on_progress`` is awaited for every improving solution. ``should_stop`` is asked every ``poll_s``
    seconds (and after progress, at most that often); when it names a reason the child is killed and
    :class:`SolveStopped` raised. The child is killed whenever this coroutine ends early (cancelled too).
    """
    payload = await asyncio.to_thread(_encode, spec)
    proc = process if process is not None and process.returncode is None else await spawn_solver()
    assert proc.stdin is not None
    assert proc.stdout is not None
    assert proc.stderr is not None
    stderr = proc.stderr
    tail = bytearray()

    async def drain_stderr() -> None:
        while chunk := await stderr.read(65536):
            tail.extend(chunk)
            del tail[:-_STDERR_TAIL]

    stderr_task = asyncio.create_task(drain_stderr())
    read: asyncio.Task[bytes] | None = None
    try:
        proc.stdin.write(payload)
        await proc.stdin.drain()
        result: list[tuple[str, dict[str, Any]]] | None = None
        last_check = time.monotonic()
        while True:
            if read is None:
                read = asyncio.create_task(proc.stdout.readline())
            done, _ = await asyncio.wait({read}, timeout=poll_s)
            if time.monotonic() - last_check >= poll_s or not done:
                last_check = time.monotonic()
                if (reason := await should_stop()) is not None:
                    raise SolveStopped(reason)
            if not done:
                continue
            line = read.result()
            read = None
            if not line:
                break
            message = (
                await asyncio.to_thread(json.loads, line)
                if len(line) > _DECODE_IN_THREAD
                else json.loads(line)
            )
            if message["type"] == "progress":
                await on_progress(
                    ProgressEvent(
                        preset=message["preset"],
                        objective=message["objective"],
                        bound=message["bound"],
                        gap=message["gap"],
                        elapsed_s=message["elapsed_s"],
                        phase=message["phase"],
                    )
                )
            elif message["type"] == "result":
                result = [(s["preset"], s["solution"]) for s in message["solutions"]]
        code = await proc.wait()
        await stderr_task
        if result is None:
            text = tail.decode(errors="replace").strip()
            raise SolverCrashed(f"the solver process ended with exit code {code} and no result: {text}")
        return result
    finally:
        if read is not None:
            read.cancel()
        await stop_solver(proc)
        if not stderr_task.done():
            stderr_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await stderr_task


# --- the child ------------------------------------------------------------------------------------------


DETERMINISTIC_WALL_FACTOR = 30.0


def _solve_all(spec: SolveSpec, emit: Callable[[dict[str, Any]], None]) -> None:
    problem = problem_from_json(spec.problem)
    wall_factor = DETERMINISTIC_WALL_FACTOR if spec.deterministic else 1.0
    started = time.monotonic()
    # The time limit is shared by the solves in proportion: the first preset runs 1 + alternatives solves.
    units = len(spec.presets) + spec.alternatives
    solutions: list[dict[str, Any]] = []
    for i, preset in enumerate(spec.presets):
        policy = dataclasses.replace(problem.policy, preset=cast(Preset, preset))
        with_preset = dataclasses.replace(problem, policy=policy)

        def progress(p: Progress, preset: str = preset) -> None:
            emit(
                {
                    "type": "progress",
                    "preset": preset,
                    "objective": p.objective,
                    "bound": p.bound,
                    "gap": p.gap,
                    "elapsed_s": round(time.monotonic() - started, 3),
                    "phase": p.phase,
                }
            )

        if i == 0 and spec.alternatives > 0:
            found = alternatives(
                with_preset,
                1 + spec.alternatives,
                time_limit_s=wall_factor * spec.time_limit_s * (1 + spec.alternatives) / units,
                workers=spec.workers,
                seed=spec.seed,
                on_progress=progress,
                deterministic_time_s=(
                    spec.time_limit_s * (1 + spec.alternatives) / units if spec.deterministic else None
                ),
            )
        else:
            found = [
                solve(
                    with_preset,
                    time_limit_s=wall_factor * spec.time_limit_s / units,
                    workers=spec.workers,
                    seed=spec.seed,
                    on_progress=progress,
                    deterministic_time_s=spec.time_limit_s / units if spec.deterministic else None,
                )
            ]
        solutions.extend({"preset": preset, "solution": solution_to_json(s)} for s in found)
    emit({"type": "result", "solutions": solutions})


def _exit_when_orphaned(stdin: TextIO) -> None:
    """Read stdin to its end, which comes when the parent closes it or dies; then leave at once."""
    for _ in stdin:
        pass
    os._exit(ORPHANED)


def main() -> int:
    with contextlib.suppress(OSError):
        os.nice(NICENESS)
    spec_line = sys.stdin.readline()
    if not spec_line:
        return ORPHANED
    data = json.loads(spec_line)
    data["presets"] = tuple(data["presets"])
    spec = SolveSpec(**data)
    threading.Thread(target=_exit_when_orphaned, args=(sys.stdin,), daemon=True).start()
    lock = threading.Lock()
    out = sys.stdout

    def emit(message: dict[str, Any]) -> None:
        line = json.dumps(message, separators=(",", ":")) + "\n"
        with lock:  # CP-SAT calls back from its own threads
            out.write(line)
            out.flush()

    _solve_all(spec, emit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
