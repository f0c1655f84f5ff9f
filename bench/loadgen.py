"""A small HTTP/1.1 load generator for :mod:`bench.api_speed`, run in its own process.

``wrk``/``hey``/``oha`` are not installed; this is asyncio streams on uvloop, keep-alive, ``--connections``
connections each sending one request after the other (closed loop) for ``--seconds`` after ``--warmup``.
It prints one JSON object: requests, errors, req/s, p50/p99 in ms, and its own CPU time, so a run shows
whether the generator rather than the server was the limit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from typing import Any
from urllib.parse import urlsplit


def _request(url: str, body: bytes, token: str | None) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    headers = [
        f"POST {parts.path or '/'} HTTP/1.1",
        f"Host: {host}:{port}",
        "Content-Type: application/json",
        "Accept: application/json",
        f"Content-Length: {len(body)}",
    ]
    if token:
        headers.append(f"Authorization: Bearer {token}")
    return host, port, ("\r\n".join(headers) + "\r\n\r\n").encode() + body


async def _connection(
    host: str,
    port: int,
    request: bytes,
    start: float,
    stop: float,
    latencies: list[float],
    errors: list[int],
    answered: list[int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while True:
            sent = time.perf_counter()
            if sent >= stop:
                return
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            done = time.perf_counter()
            answered[0] += 1
            if done >= start:
                if status == 200:
                    latencies.append(done - sent)
                else:
                    errors.append(status)
    finally:
        writer.close()


async def run(
    url: str, body: bytes, token: str | None, connections: int, seconds: float, warmup: float
) -> dict[str, Any]:
    host, port, request = _request(url, body, token)
    latencies: list[float] = []
    errors: list[int] = []
    answered = [0]  # warm-up included: what the server did while its CPU time was measured
    began = time.perf_counter()
    start, stop = began + warmup, began + warmup + seconds
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    await asyncio.gather(
        *(
            _connection(host, port, request, start, stop, latencies, errors, answered)
            for _ in range(connections)
        )
    )
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    latencies.sort()

    def pct(p: float) -> float:
        return (
            round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2) if latencies else 0.0
        )

    return {
        "requests": len(latencies),
        "answered": answered[0],
        "errors": len(errors),
        "req_per_s": round(len(latencies) / seconds, 1),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        # Share of one core the generator itself used over warm-up and measurement.
        "loadgen_cpu": round(cpu / (warmup + seconds), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--body", required=True, help="the JSON request body")
    parser.add_argument("--token")
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        pass
    result = asyncio.run(
        run(args.url, args.body.encode(), args.token, args.connections, args.seconds, args.warmup)
    )
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
