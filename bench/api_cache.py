"""The response cache (issue 11, server/cache/): the registry's heavy read with and without it, in one run.

Seeds the demo into a fresh data directory, then starts ``machikoba serve`` (one uvicorn process, no
in-process solve worker) twice on it: with ``MACHIKOBA_RESPONSE_CACHE=0`` and with the cache on. Against
each, 10 keep-alive connections send the heavy read — ``factories(first: 50)`` with prefecture,
certifications and capabilities (process names, materials, tolerances, lots, hours, rates) — as the demo
coordinator for a fixed time, after a warm-up. Reported: requests/s, p50/p99 latency, and for the cached
server the hit rate (from the dev-only ``x-machikoba-cache`` header). A third phase repeats the cached run
while a writer sets a factory's capacity every ``--write-every`` seconds, which drops every process's cache,
to show the hit rate and speed under invalidation.

The load generator is a minimal HTTP/1.1 client on asyncio streams (pre-built request bytes, a body read by
Content-Length), so the client costs little next to the server on the same 2 shared cores. Writes
``bench/results/api_cache.{json,md}`` with the machine and its load average (the machine is shared)::

    .venv/bin/python -m bench.api_cache [--seconds 20] [--connections 10]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.solver.gap_common import machine_info, machine_markdown
from server import clock as clocks
from server import db
from server.cache.generation import RegistryGeneration

RESULTS = Path(__file__).parent / "results"
COORDINATOR = {"email": "office@demo.machikoba.jp", "password": "machikoba-demo"}

HEAVY = """query Heavy {
  factories(first: 50) {
    edges { node {
      id nameJa nameEn city
      prefecture { code nameEn }
      certifications { code validUntil isValid }
      capabilities {
        process { code nameEn }
        materials bestToleranceUm minLot maxLot hoursPerWeek hourlyRateJpy
      }
    } }
  }
}"""
LOG_IN = "mutation($i: AccountLogInInput!) { accountLogIn(input: $i) { token } }"
CAPACITY_SET = """mutation($f: ID!, $p: String!, $w: [CapacityWeekInput!]!) {
  capacitySet(factoryId: $f, processCode: $p, weeks: $w) { errors { code } }
}"""
FIRST_CAPABILITY = "{ factories(first: 1) { edges { node { id capabilities { processCode } } } } }"


@dataclass
class Run:
    name: str
    seconds: float
    requests: int
    failures: int
    req_per_s: float
    p50_ms: float
    p99_ms: float
    labels: dict[str, int] = field(default_factory=dict)
    writes: int = 0

    @property
    def hit_rate(self) -> float | None:
        """Of the requests the cache could answer, those answered from memory (stored, or a concurrent
        identical miss's answer) rather than by GraphQL."""
        hits = self.labels.get("hit", 0) + self.labels.get("shared", 0)
        asked = hits + self.labels.get("miss", 0)
        return hits / asked if asked else None


class Connection:
    """One keep-alive HTTP/1.1 connection that posts the same request again and again."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def send(self, request: bytes) -> tuple[int, dict[str, str], bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {
            k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:] if ":" in ln)
        }
        body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        return status, headers, body

    async def close(self) -> None:
        self.writer.close()
        with suppress(OSError):
            await self.writer.wait_closed()


def post_bytes(port: int, query: str, token: str, variables: dict[str, Any] | None = None) -> bytes:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Accept: application/json\r\nAuthorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def load(
    name: str,
    port: int,
    token: str,
    *,
    seconds: float,
    warmup: float,
    connections: int,
    write_every: float | None = None,
    writes_to_send: list[bytes] | None = None,
) -> Run:
    """``connections`` clients sending the heavy read for ``warmup`` + ``seconds``; only the last
    ``seconds`` count. With ``write_every``, one more connection sends ``writes_to_send`` in turn, that
    often."""
    request = post_bytes(port, HEAVY, token)
    latencies: list[float] = []
    labels: Counter[str] = Counter()
    failures = 0
    writes = 0
    start = time.perf_counter()
    measure_from = start + warmup
    stop_at = measure_from + seconds

    async def client() -> None:
        nonlocal failures
        conn = await Connection.open(port)
        try:
            while (now := time.perf_counter()) < stop_at:
                status, headers, body = await conn.send(request)
                done = time.perf_counter()
                if now < measure_from:
                    continue
                if status != 200 or b'"errors"' in body:
                    failures += 1
                latencies.append(done - now)
                labels[headers.get("x-machikoba-cache", "none")] += 1
        finally:
            await conn.close()

    async def writer() -> None:
        nonlocal writes, failures
        assert writes_to_send
        assert write_every is not None
        conn = await Connection.open(port)
        try:
            while time.perf_counter() < stop_at:
                await asyncio.sleep(write_every)
                status, _, body = await conn.send(writes_to_send[writes % len(writes_to_send)])
                if time.perf_counter() >= measure_from:
                    writes += 1
                    if status != 200 or b'"code"' in body:
                        failures += 1
        finally:
            await conn.close()

    tasks = [client() for _ in range(connections)]
    if write_every is not None:
        tasks.append(writer())
    await asyncio.gather(*tasks)
    latencies.sort()
    run = Run(
        name=name,
        seconds=seconds,
        requests=len(latencies),
        failures=failures,
        req_per_s=len(latencies) / seconds,
        p50_ms=statistics.median(latencies) * 1000 if latencies else 0.0,
        p99_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000 if latencies else 0.0,
        labels=dict(labels),
        writes=writes,
    )
    hit = f", hit rate {run.hit_rate:.3f}" if run.hit_rate is not None else ""
    print(
        f"{name:<40} {run.req_per_s:8.1f} req/s  p50 {run.p50_ms:7.1f} ms  p99 {run.p99_ms:7.1f} ms  "
        f"{run.requests} requests, {run.failures} failed{hit}" + (f", {writes} writes" if writes else ""),
        flush=True,
    )
    return run


@dataclass
class CheckCost:
    """The per-request read of the registry generation, measured alone: ``concurrency`` loops of it."""

    name: str
    reads_per_s: float
    p50_ms: float
    round_trips: int


async def _repeat(read: Callable[[], Awaitable[None]], stop_at: float, latencies: list[float]) -> None:
    while (start := time.perf_counter()) < stop_at:
        await read()
        latencies.append(time.perf_counter() - start)


async def check_costs(dsn: str, *, seconds: float, concurrency: int) -> list[CheckCost]:
    """How much the read-your-writes check costs: the shared read on the cache's own connection
    (:class:`server.cache.generation.RegistryGeneration`) against a plain ``SELECT`` through the pool."""
    pool = await db.create_pool(dsn, min_size=concurrency, max_size=concurrency)
    generation = RegistryGeneration(pool, lambda _: None)
    results: list[CheckCost] = []

    async def shared() -> None:
        await generation.read()

    async def pooled() -> None:
        async with pool.acquire() as conn:
            await conn.fetchval("SELECT value FROM registry_generation")

    try:
        await generation.read()  # connect first
        for name, read in (
            ("shared read on the LISTEN connection", shared),
            ("pool acquire + SELECT", pooled),
        ):
            latencies: list[float] = []
            stop_at = time.perf_counter() + seconds
            trips_before = generation.round_trips

            await asyncio.gather(*(_repeat(read, stop_at, latencies) for _ in range(concurrency)))
            trips = generation.round_trips - trips_before if read is shared else len(latencies)
            cost = CheckCost(name, len(latencies) / seconds, statistics.median(latencies) * 1000, trips)
            results.append(cost)
            print(
                f"{name:<40} {cost.reads_per_s:8.0f} reads/s  p50 {cost.p50_ms:6.2f} ms  {trips} round trips",
                flush=True,
            )
    finally:
        await generation.close()
        await pool.close()
    return results


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def server(data_dir: str, *, cache: bool) -> Iterator[int]:
    """`machikoba serve` (one process, no in-process worker) on ``data_dir``; its port."""
    env = {
        **os.environ,
        "MACHIKOBA_DATA_DIR": data_dir,
        "MACHIKOBA_INPROCESS_WORKER": "0",
        "MACHIKOBA_RESPONSE_CACHE": "1" if cache else "0",
        "MACHIKOBA_ENV": "dev",  # the x-machikoba-cache header, for the hit rate
    }
    env.pop("DATABASE_URL", None)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the server did not start")
            time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(60)


def sign_in(port: int) -> str:
    url = f"http://127.0.0.1:{port}/graphql"
    body = httpx.post(url, json={"query": LOG_IN, "variables": {"i": COORDINATOR}}, timeout=60).json()
    token: str = body["data"]["accountLogIn"]["token"]
    return token


def capacity_writes(port: int, token: str) -> list[bytes]:
    """``capacitySet`` of the first factory's first capability this week: 30 hours, then 31."""
    url = f"http://127.0.0.1:{port}/graphql"
    auth = {"authorization": f"Bearer {token}"}
    node = httpx.post(url, json={"query": FIRST_CAPABILITY}, headers=auth, timeout=60).json()
    node = node["data"]["factories"]["edges"][0]["node"]
    today = clocks.today(clocks.SYSTEM_CLOCK)
    monday = (today - dt.timedelta(days=today.weekday())).isoformat()
    return [
        post_bytes(
            port,
            CAPACITY_SET,
            token,
            {
                "f": node["id"],
                "p": node["capabilities"][0]["processCode"],
                "w": [{"weekStart": monday, "hours": h}],
            },
        )
        for h in (30, 31)
    ]


def write_results(
    runs: list[Run], checks: list[CheckCost], info_start: dict[str, Any], info_end: dict[str, Any], args: Any
) -> None:
    RESULTS.mkdir(exist_ok=True)
    data = {
        "machine": info_start,
        "loadavg_end": info_end["loadavg"],
        "connections": args.connections,
        "seconds": args.seconds,
        "warmup": args.warmup,
        "write_every_s": args.write_every,
        "query": HEAVY,
        "runs": [{**asdict(r), "hit_rate": r.hit_rate} for r in runs],
        "generation_check": [asdict(c) for c in checks],
    }
    (RESULTS / "api_cache.json").write_text(json.dumps(data, indent=2) + "\n")
    by = {r.name: r for r in runs}
    uncached = by["uncached"]
    lines = [
        "# Response cache: the heavy registry read with and without it (issue 11)",
        "",
        machine_markdown(info_start),
        "",
        f"Load average at the start {info_start['loadavg']}, at the end {info_end['loadavg']}: the machine "
        "(2 cores) is shared with other work, so absolute figures vary between runs; the rows of one run "
        "are comparable.",
        "",
        f"`machikoba serve`, one uvicorn process, no in-process worker, demo data; {args.connections} "
        f"keep-alive connections for {args.seconds:g} s after {args.warmup:g} s of warm-up, as the demo "
        "coordinator; `python -m bench.api_cache`.",
        "",
        "| run | req/s | × uncached | p50 ms | p99 ms | requests | failed | hit rate | hit / shared / miss "
        "| writes |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        hit = f"{r.hit_rate:.3f}" if r.hit_rate is not None else "—"
        labels = " / ".join(str(r.labels.get(k, 0)) for k in ("hit", "shared", "miss"))
        labels = labels if r.hit_rate is not None else "—"
        ratio = r.req_per_s / uncached.req_per_s if uncached.req_per_s else 0.0
        lines.append(
            f"| {r.name} | {r.req_per_s:.1f} | {ratio:.2f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | {r.requests} "
            f"| {r.failures} | {hit} | {labels} | {r.writes or '—'} |"
        )
    lines += [
        "",
        f"The read-your-writes check alone ({args.connections} concurrent loops for 5 s, same database):",
        "",
        "| check | reads/s | p50 ms | round trips |",
        "|---|---|---|---|",
        *(f"| {c.name} | {c.reads_per_s:.0f} | {c.p50_ms:.2f} | {c.round_trips} |" for c in checks),
        "",
        "The query:",
        "",
        "```graphql",
        HEAVY,
        "```",
        "",
        "Hit rate: of the requests the cache could answer, those answered from memory: stored (`hit`) or "
        "the answer of an identical miss already running in the same generation (`shared`).",
        "",
        "A hit still authenticates the caller (one query) and reads the registry generation (one round trip "
        "on the cache's own connection, shared by the requests that arrive while it runs); it runs no "
        "GraphQL. Under writes, every `capacitySet` drops the whole cache, so each write costs one miss per "
        "distinct (document, variables, class) asked afterwards.",
        "",
    ]
    (RESULTS / "api_cache.md").write_text("\n".join(lines))


def run_all(args: argparse.Namespace) -> None:
    info_start = machine_info()
    print(f"load average at start: {info_start['loadavg']}", flush=True)
    runs: list[Run] = []
    checks: list[CheckCost] = []
    with tempfile.TemporaryDirectory(prefix="machikoba-api-cache-") as data_dir:
        env = {**os.environ, "MACHIKOBA_DATA_DIR": data_dir}
        env.pop("DATABASE_URL", None)
        subprocess.run(
            [sys.executable, "-m", "server.cli", "seed", "--demo"], env=env, check=True, capture_output=True
        )

        def measure(name: str, port: int, token: str, **writing: Any) -> None:
            run = load(
                name,
                port,
                token,
                seconds=args.seconds,
                warmup=args.warmup,
                connections=args.connections,
                **writing,
            )
            runs.append(asyncio.run(run))

        with server(data_dir, cache=False) as port:
            measure("uncached", port, sign_in(port))
        with server(data_dir, cache=True) as port:
            token = sign_in(port)
            measure("cached", port, token)
            writes = capacity_writes(port, token)
            every = args.write_every
            measure(
                f"cached, a write every {every:g} s", port, token, write_every=every, writes_to_send=writes
            )
            # The server's embedded database is running: this process joins it to time the check alone.
            embedded = db.start_embedded(Path(data_dir))
            try:
                checks = asyncio.run(check_costs(embedded.dsn, seconds=5, concurrency=args.connections))
            finally:
                embedded.stop()
    info_end = machine_info()
    print(f"load average at end: {info_end['loadavg']}", flush=True)
    write_results(runs, checks, info_start, info_end, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--write-every", type=float, default=1.0)
    run_all(parser.parse_args())


if __name__ == "__main__":
    main()
