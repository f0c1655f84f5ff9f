"""Solve jobs in the embedded setup: ``machikoba serve`` with its in-process worker, measured from outside.

What is measured, over HTTP and graphql-transport-ws against a real server process:

- from sending ``proposalsRequest`` to the first ``solveProgress`` message carrying progress (the subscription
  is opened once the request has answered; a late subscriber gets the latest state first, so nothing is lost);
- the latency of a simple query (``rfq(id)``), paced at ``--rate`` per second, for a few seconds without a
  solve and then while the job's solve runs (``--solve-s``, default 30 s) in the in-process worker:
  p50 / p95 / p99 / max.

Where the Problem comes from (``--source``):

- ``builder`` (default): the database holds the demo registry scaled to ``--factories`` (500) factories,
  ``--partnerships`` confirmed partnerships and an RFQ of ``--packages`` (100) work packages with the demo's
  bids, loaded by :func:`bench.problem_builder.load` before ``serve`` starts; the request carries no Problem,
  so the worker builds it from the database (``server/proposals/problem_builder.py``). This is issue 7's
  target: under 3 s from the request to the first progress.
- ``inline``: ``seed --demo``, and a generated Problem (``solver.generate``, ``--factories`` ×
  ``--packages``) sent with the request, as measured before the Problem builder existed.
- ``both``: one run of each, builder first, each on its own fresh server.

Each run starts a fresh embedded PostgreSQL. Results, with the machine, go to ``bench/results/jobs.{json,md}``
(the sources run, side by side).

    .venv/bin/python -m bench.jobs [--source builder|inline|both] [--solve-s 30] [--factories 500]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
from httpx_ws import AsyncWebSocketSession, aconnect_ws

from bench import problem_builder
from bench.solver.gap_common import machine_info, machine_markdown
from server import clock, db
from server.migrate import migrate
from solver import problem_to_json
from solver.generate import generate_problem

RESULTS = Path(__file__).resolve().parent / "results"
COORDINATOR = ("office@demo.machikoba.jp", "machikoba-demo")
MACHIKOBA = Path(sys.executable).with_name("machikoba")

LOG_IN = """
mutation($input: AccountLogInInput!) { accountLogIn(input: $input) { token errors { message } } }
"""
FIRST_RFQ = "{ rfqs(first: 1) { edges { node { id } } } }"
SIMPLE = "query($id: ID!) { rfq(id: $id) { id title status dueDate } }"
REQUEST = """
mutation($input: ProposalsRequestInput!) {
  proposalsRequest(input: $input) { job { id status } errors { field code message } }
}
"""
SUBSCRIBE = """
subscription($jobId: ID!) {
  solveProgress(jobId: $jobId) { status version progress { objective bound gap elapsedS preset } error }
}
"""


WORKER_TIMING = re.compile(
    r"Problem (?:built|parsed) in (?P<problem_s>[0-9.]+) s, saved \([0-9.]+ MB\) in (?P<save_s>[0-9.]+) s"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {
        "count": len(ordered),
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(at(0.95), 1),
        "p99_ms": round(at(0.99), 1),
        "max_ms": round(ordered[-1], 1),
    }


async def gql(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any], token: str | None
) -> dict[str, Any]:
    response = await http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"} if token else {},
        timeout=120,
    )
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    return body


async def sample_queries(
    http: httpx.AsyncClient, token: str, rfq_id: str, *, rate: float, stop: asyncio.Event
) -> list[float]:
    """Latencies (ms) of the simple query sent every 1/rate s until ``stop``."""
    latencies: list[float] = []
    interval = 1 / rate
    next_at = time.perf_counter()
    while not stop.is_set():
        started = time.perf_counter()
        await gql(http, SIMPLE, {"id": rfq_id}, token)
        latencies.append((time.perf_counter() - started) * 1000)
        next_at += interval
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=max(0.0, next_at - time.perf_counter()))
    return latencies


async def measure(
    base_url: str, args: argparse.Namespace, *, rfq_id: str | None, problem: dict[str, Any] | None
) -> dict[str, Any]:
    """One solve of ``rfq_id`` (default: the coordinator's first RFQ), with ``problem`` inline or not."""
    async with httpx.AsyncClient(base_url=base_url) as http:
        body = await gql(
            http, LOG_IN, {"input": {"email": COORDINATOR[0], "password": COORDINATOR[1]}}, token=None
        )
        token = body["data"]["accountLogIn"]["token"]
        if rfq_id is None:
            body = await gql(http, FIRST_RFQ, {}, token)
            rfq_id = body["data"]["rfqs"]["edges"][0]["node"]["id"]

        for _ in range(5):  # warm-up: the first queries open connections and fill caches
            await gql(http, SIMPLE, {"id": rfq_id}, token)
        stop = asyncio.Event()
        baseline_task = asyncio.create_task(sample_queries(http, token, rfq_id, rate=args.rate, stop=stop))
        await asyncio.sleep(args.baseline_s)
        stop.set()
        baseline = await baseline_task

        request: dict[str, Any] = {"rfqId": rfq_id, "timeLimitS": args.solve_s, "presets": ["CHEAPEST"]}
        if problem is not None:
            request["problem"] = problem
        sent = time.perf_counter()
        body = await gql(http, REQUEST, {"input": request}, token)
        answered = time.perf_counter()
        payload = body["data"]["proposalsRequest"]
        if payload["errors"]:
            raise RuntimeError(payload["errors"])
        job_id = payload["job"]["id"]

        stop = asyncio.Event()
        during_task = asyncio.create_task(sample_queries(http, token, rfq_id, rate=args.rate, stop=stop))
        first_progress: float | None = None
        first_progress_elapsed: float | None = None
        states: list[dict[str, Any]] = []
        session: contextlib.AbstractAsyncContextManager[AsyncWebSocketSession] = aconnect_ws(
            "/graphql", http, subprotocols=["graphql-transport-ws"]
        )
        async with session as ws:
            await ws.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
            await ws.receive_json(timeout=30)
            subscribe = {"query": SUBSCRIBE, "variables": {"jobId": job_id}}
            await ws.send_json({"id": "1", "type": "subscribe", "payload": subscribe})
            while True:
                message = await ws.receive_json(timeout=args.solve_s + 120)
                if message["type"] != "next":
                    break
                state = message["payload"]["data"]["solveProgress"]
                states.append(state)
                if first_progress is None and state["progress"] is not None:
                    first_progress = time.perf_counter()
                    first_progress_elapsed = state["progress"]["elapsedS"]
        finished = time.perf_counter()
        stop.set()
        during = await during_task

    final = states[-1]
    if final["status"] != "SUCCEEDED":
        raise RuntimeError(f"the solve ended {final['status']}: {final['error']}")
    return {
        "job_id": job_id,
        "solve_s": args.solve_s,
        "query_rate_per_s": args.rate,
        "request_answered_ms": round((answered - sent) * 1000, 1),
        "request_to_first_progress_s": round(first_progress - sent, 2) if first_progress else None,
        # The solver's own clock at its first solution: the rest of the above is the way to the solver
        # (request, queue, Problem, child process) and back (NOTIFY, subscription).
        "first_progress_solver_elapsed_s": first_progress_elapsed,
        "request_to_final_status_s": round(finished - sent, 2),
        "progress_messages": sum(1 for s in states if s["progress"] is not None and s["status"] == "RUNNING"),
        "final_status": final["status"],
        "final_objective": final["progress"]["objective"] if final["progress"] else None,
        "final_gap": final["progress"]["gap"] if final["progress"] else None,
        "simple_query_without_solve": percentiles(baseline),
        "simple_query_during_solve": percentiles(during),
    }


async def job_record(dsn: str, job_id: str) -> dict[str, Any]:
    """What the database says of the job: queue wait (created → started, server clock), the Problem solved."""
    pool = await db.create_pool(dsn)
    try:
        async with pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT extract(epoch FROM started_at - created_at) AS queued_s, "
                "length(problem::text) AS problem_chars, "
                "jsonb_array_length(problem->'factories') AS factories, "
                "jsonb_array_length(problem->'packages') AS packages, "
                "jsonb_array_length(problem->'offers') AS offers "
                "FROM solve_jobs WHERE id = $1",
                UUID(job_id),
            )
            registered = await conn.fetchval("SELECT count(*) FROM factories")
    finally:
        await pool.close()
    assert row is not None
    return {
        "registered_factories": registered,
        "queued_s": round(float(row["queued_s"]), 3) if row["queued_s"] is not None else None,
        "problem_json_mb": round(row["problem_chars"] / 1e6, 2) if row["problem_chars"] else None,
        "problem_factories": row["factories"],
        "problem_packages": row["packages"],
        "problem_offers": row["offers"],
    }


async def load_registry(dsn: str, args: argparse.Namespace, today: dt.date) -> str:
    """The scaled registry and the benchmark RFQ with its bids (bench.problem_builder); the RFQ's id."""
    pool = await db.create_pool(dsn)
    try:
        async with pool.acquire() as conn:
            await migrate(conn)
        rfq_id = await problem_builder.load(pool, args, today=today)
    finally:
        await pool.close()
    return str(rfq_id)


def run_source(source: str, args: argparse.Namespace) -> dict[str, Any]:
    """One fresh embedded PostgreSQL and ``machikoba serve`` on it; the measurement of ``source``."""
    data_dir = Path(tempfile.mkdtemp(prefix="machikoba-bench-jobs-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update({"MACHIKOBA_DATA_DIR": str(data_dir), "MACHIKOBA_INPROCESS_WORKER": "1"})
    server: subprocess.Popen[bytes] | None = None
    log_path = data_dir / "serve.log"
    rfq_id: str | None = None
    problem: dict[str, Any] | None = None
    info: dict[str, Any]
    try:
        t0 = time.perf_counter()
        if source == "builder":
            today = clock.today(clock.SYSTEM_CLOCK)  # the worker builds the Problem as of the system clock
            print(
                f"[builder] loading {args.factories} factories and a {args.packages}-package RFQ …",
                file=sys.stderr,
            )
            embedded = db.start_embedded(data_dir)
            try:
                rfq_id = asyncio.run(load_registry(embedded.dsn, args, today))
            finally:
                embedded.stop()
            info = {"partnerships": args.partnerships, "today": today.isoformat()}
        else:
            print("[inline] seeding the demo data …", file=sys.stderr)
            subprocess.run([str(MACHIKOBA), "seed", "--demo"], env=env, check=True, capture_output=True)
            problem = problem_to_json(generate_problem(args.factories, args.packages, seed=args.seed))
            size = len(json.dumps(problem))
            # The API refuses bodies over 1 MiB by default (413): raised for this run only, as it predates it.
            env["MACHIKOBA_MAX_BODY_BYTES"] = str(2 * size)
            info = {"seed": args.seed, "request_json_mb": round(size / 1e6, 2), "max_body_bytes": 2 * size}
        info.update({"factories": args.factories, "packages": args.packages})
        load_s = time.perf_counter() - t0
        with log_path.open("wb") as log_file:
            server = subprocess.Popen(
                [str(MACHIKOBA), "serve", "--port", str(port)],
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("the server did not start")
            time.sleep(0.5)
        print(f"[{source}] measuring ({args.solve_s} s solve) …", file=sys.stderr)
        result = asyncio.run(measure(base_url, args, rfq_id=rfq_id, problem=problem))
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
        if args.keep_logs and log_path.exists():
            kept = args.output.with_name(f"jobs-{source}-serve.log")
            shutil.copyfile(log_path, kept)
            print(f"[{source}] server log kept at {kept}", file=sys.stderr)
    # The worker's own timing (server/jobs/worker.py logs it): the Problem built (or parsed) and saved.
    timing = WORKER_TIMING.search(log_path.read_text(encoding="utf-8", errors="replace"))
    if timing:
        info["worker_problem_s"] = float(timing["problem_s"])
        info["worker_save_s"] = float(timing["save_s"])
    try:
        embedded = db.start_embedded(data_dir)
        try:
            info.update(asyncio.run(job_record(embedded.dsn, result["job_id"])))
        finally:
            embedded.stop()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    info["load_s"] = round(load_s, 1)
    result["problem"] = info
    result["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    return result


SOURCES = {
    "builder": "Problem built by the worker from the database",
    "inline": "generated Problem sent with the request",
}


def markdown(runs: dict[str, dict[str, Any]], machine: dict[str, Any]) -> str:
    def row(label: str, value: Any) -> str:
        return f"| {label} | " + " | ".join(str(value(r)) for r in runs.values()) + " |"

    def latency(key: str) -> Any:
        return lambda r: (
            f"{r[key]['p50_ms']} / {r[key]['p95_ms']} / {r[key]['p99_ms']} / {r[key]['max_ms']} ms "
            f"(n={r[key]['count']})"
        )

    first = next(iter(runs.values()))
    lines = [
        "# Solve jobs: request to first progress, query latency during a solve",
        "",
        "`machikoba serve` with its in-process worker, each run on a fresh embedded PostgreSQL; "
        f"`proposalsRequest` as the demo coordinator, `cheapest`, time limit {first['solve_s']} s, solver in "
        "a child process with 2 CP-SAT threads; `rfq(id)` sent "
        f"{first['query_rate_per_s']} times a second over HTTP. Issue 7's target: with 500 factories "
        "registered and an RFQ of 100 packages, under 3 s from the request to the first progress event. "
        "Run with `.venv/bin/python -m bench.jobs --source both`.",
        "",
    ]
    if "builder" in runs:
        p = runs["builder"]["problem"]
        lines.append(
            f"- **builder** (the target's setting): the demo registry scaled to {p['factories']} factories, "
            f"{p['partnerships']} confirmed partnerships and an RFQ of {p['packages']} work packages "
            "with the demo's bids, loaded by `bench.problem_builder.load` before `serve` starts; the request "
            "carries no Problem, so the worker builds it from the database "
            f"(`server/proposals/problem_builder.py`), dated {p['today']} (JST)."
        )
    if "inline" in runs:
        p = runs["inline"]["problem"]
        lines.append(
            f"- **inline** (the measurement before the builder existed): `seed --demo`, and a generated "
            f"Problem of {p['factories']} factories × {p['packages']} packages "
            f"({p['request_json_mb']} MB of JSON) sent with the request, which the API parses and validates "
            "before it answers and the worker parses again. The API now refuses bodies over 1 MiB "
            f"(`MACHIKOBA_MAX_BODY_BYTES`), raised to {p['max_body_bytes']} bytes for this run."
        )
    lines += [
        "",
        "This machine is shared: compare runs at similar load only (below).",
        "",
        "| measure | " + " | ".join(runs) + " |",
        "|---|" + "---|" * len(runs),
        row("registered factories", lambda r: r["problem"]["registered_factories"]),
        row(
            "Problem solved: factories / packages / offers",
            lambda r: (
                f"{r['problem']['problem_factories']} / {r['problem']['problem_packages']} / "
                f"{r['problem']['problem_offers']}"
            ),
        ),
        row("Problem solved, JSON", lambda r: f"{r['problem']['problem_json_mb']} MB"),
        row("proposalsRequest answered", lambda r: f"{r['request_answered_ms']} ms"),
        row(
            "**request → first progress on solveProgress**",
            lambda r: f"**{r['request_to_first_progress_s']} s**",
        ),
        row(
            "of which the queue (created → started, server clock)", lambda r: f"{r['problem']['queued_s']} s"
        ),
        row(
            "of which the worker's Problem: built (builder) or parsed (inline) / saved",
            lambda r: f"{r['problem'].get('worker_problem_s')} s / {r['problem'].get('worker_save_s')} s",
        ),
        row(
            "solver's own clock at its first solution", lambda r: f"{r['first_progress_solver_elapsed_s']} s"
        ),
        row("request → final status", lambda r: f"{r['request_to_final_status_s']} s ({r['final_status']})"),
        row("progress messages", lambda r: r["progress_messages"]),
        row("simple query without a solve: p50 / p95 / p99 / max", latency("simple_query_without_solve")),
        row("simple query during the solve: p50 / p95 / p99 / max", latency("simple_query_during_solve")),
        row("load average after the run", lambda r: r["loadavg_after"]),
        "",
        machine_markdown(machine) + f" (load at end {machine['loadavg_end']})",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--source", choices=["builder", "inline", "both"], default="builder")
    parser.add_argument("--solve-s", type=int, default=30)
    parser.add_argument("--factories", type=int, default=500)
    parser.add_argument("--packages", type=int, default=100)
    parser.add_argument("--partnerships", type=int, default=300, help="builder: confirmed partnerships")
    parser.add_argument("--seed", type=int, default=1, help="inline: the generator's seed")
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--baseline-s", type=float, default=5.0)
    parser.add_argument("--keep-logs", action="store_true", help="copy each server's log next to --output")
    parser.add_argument("--output", type=Path, default=RESULTS / "jobs")
    args = parser.parse_args()

    machine = machine_info()
    sources = ["builder", "inline"] if args.source == "both" else [args.source]
    runs = {source: run_source(source, args) for source in sources}
    machine["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.with_suffix(".json").write_text(
        json.dumps({"runs": runs, "machine": machine}, indent=2) + "\n", encoding="utf-8"
    )
    text = markdown(runs, machine)
    args.output.with_suffix(".md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
