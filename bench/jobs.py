"""Solve jobs in the embedded setup: ``machikoba serve`` with its in-process worker, measured from outside.

What is measured, over HTTP and graphql-transport-ws against a real server process:

- from sending ``proposalsRequest`` to the first ``solveProgress`` message carrying progress (the subscription
  is opened once the request has answered; a late subscriber gets the latest state first, so nothing is lost);
- the latency of a simple query (``rfq(id)``), paced at ``--rate`` per second, for a few seconds without a
  solve and then while the job's solve runs (``--solve-s``, default 30 s) in the in-process worker:
  p50 / p95 / p99 / max.

The Problem is generated (``solver.generate``, ``--factories`` × ``--packages``, default 500 × 100) and sent
with the request, since the Problem builder does not exist yet. The database is a fresh embedded PostgreSQL
with ``seed --demo``. Results, with the machine, go to ``bench/results/jobs.{json,md}``.

    .venv/bin/python -m bench.jobs [--solve-s 30] [--factories 500] [--packages 100]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
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

import httpx
from httpx_ws import AsyncWebSocketSession, aconnect_ws

from bench.solver.gap_common import machine_info, machine_markdown
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


async def measure(base_url: str, args: argparse.Namespace) -> dict[str, Any]:
    problem = problem_to_json(generate_problem(args.factories, args.packages, seed=args.seed))
    async with httpx.AsyncClient(base_url=base_url) as http:
        body = await gql(
            http, LOG_IN, {"input": {"email": COORDINATOR[0], "password": COORDINATOR[1]}}, token=None
        )
        token = body["data"]["accountLogIn"]["token"]
        body = await gql(http, FIRST_RFQ, {}, token)
        rfq_id = body["data"]["rfqs"]["edges"][0]["node"]["id"]

        for _ in range(5):  # warm-up: the first queries open connections and fill caches
            await gql(http, SIMPLE, {"id": rfq_id}, token)
        stop = asyncio.Event()
        baseline_task = asyncio.create_task(sample_queries(http, token, rfq_id, rate=args.rate, stop=stop))
        await asyncio.sleep(args.baseline_s)
        stop.set()
        baseline = await baseline_task

        request = {"rfqId": rfq_id, "problem": problem, "timeLimitS": args.solve_s, "presets": ["CHEAPEST"]}
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
        finished = time.perf_counter()
        stop.set()
        during = await during_task

    final = states[-1]
    return {
        "problem": {
            "factories": args.factories,
            "packages": args.packages,
            "seed": args.seed,
            "json_mb": round(len(json.dumps(problem)) / 1e6, 2),
        },
        "solve_s": args.solve_s,
        "query_rate_per_s": args.rate,
        "request_answered_ms": round((answered - sent) * 1000, 1),
        "request_to_first_progress_s": round(first_progress - sent, 2) if first_progress else None,
        "request_to_final_status_s": round(finished - sent, 2),
        "progress_messages": sum(1 for s in states if s["progress"] is not None and s["status"] == "RUNNING"),
        "final_status": final["status"],
        "final_objective": final["progress"]["objective"] if final["progress"] else None,
        "final_gap": final["progress"]["gap"] if final["progress"] else None,
        "simple_query_without_solve": percentiles(baseline),
        "simple_query_during_solve": percentiles(during),
    }


def markdown(result: dict[str, Any], machine: dict[str, Any]) -> str:
    base, during = result["simple_query_without_solve"], result["simple_query_during_solve"]
    p = result["problem"]
    return "\n".join(
        [
            "# Solve jobs: request to first progress, query latency during a solve",
            "",
            f"`machikoba serve` with its in-process worker (embedded PostgreSQL, `seed --demo`); a generated "
            f"Problem of {p['factories']} factories × {p['packages']} packages sent with `proposalsRequest`, "
            f"`cheapest`, time limit {result['solve_s']} s, solver in a child process with 2 CP-SAT threads. "
            f"`rfq(id)` sent {result['query_rate_per_s']} times a second over HTTP.",
            "",
            f"The request carries the Problem ({p['json_mb']} MB of JSON), which the API parses and "
            "validates before it answers and the worker parses again; once the server builds Problems from "
            "the database, a request carries none. This machine is shared: compare runs at similar load only "
            "(below).",
            "",
            "| measure | value |",
            "|---|---|",
            f"| proposalsRequest answered | {result['request_answered_ms']} ms |",
            f"| request → first progress on solveProgress | {result['request_to_first_progress_s']} s |",
            f"| request → final status | {result['request_to_final_status_s']} s "
            f"({result['final_status']}) |",
            f"| progress messages | {result['progress_messages']} |",
            f"| simple query without a solve: p50 / p95 / p99 / max | {base['p50_ms']} / {base['p95_ms']} / "
            f"{base['p99_ms']} / {base['max_ms']} ms (n={base['count']}) |",
            f"| simple query during the solve: p50 / p95 / p99 / max | {during['p50_ms']} / "
            f"{during['p95_ms']} / {during['p99_ms']} / {during['max_ms']} ms (n={during['count']}) |",
            "",
            machine_markdown(machine) + f" (load at end {machine['loadavg_end']})",
            "",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--solve-s", type=int, default=30)
    parser.add_argument("--factories", type=int, default=500)
    parser.add_argument("--packages", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--baseline-s", type=float, default=5.0)
    parser.add_argument("--output", type=Path, default=RESULTS / "jobs")
    args = parser.parse_args()

    machine = machine_info()
    data_dir = Path(tempfile.mkdtemp(prefix="machikoba-bench-jobs-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update({"MACHIKOBA_DATA_DIR": str(data_dir), "MACHIKOBA_INPROCESS_WORKER": "1"})
    server: subprocess.Popen[bytes] | None = None
    try:
        print("seeding the demo data …", file=sys.stderr)
        subprocess.run([str(MACHIKOBA), "seed", "--demo"], env=env, check=True, capture_output=True)
        server = subprocess.Popen(
            [str(MACHIKOBA), "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
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
        print(f"measuring ({args.solve_s} s solve) …", file=sys.stderr)
        result = asyncio.run(measure(base_url, args))
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(data_dir, ignore_errors=True)
    machine["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    result["machine"] = machine
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    text = markdown(result, machine)
    args.output.with_suffix(".md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
