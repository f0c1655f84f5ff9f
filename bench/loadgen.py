"""A small HTTP/1.1 load generator for :mod:`bench.api_speed`, run in its own process.

``wrk``/``hey``/``oha`` are not installed; this is an asyncio protocol on uvloop, keep-alive,
``--connections`` connections each sending one request after the other (closed loop) for ``--seconds`` after
``--warmup``. :class:`Answers` gathers each answer in the protocol's callback and wakes its client once per
answer, not once per chunk as asyncio streams do (a 60 KB answer arrives in several): the generator shares
the cores with the server it measures, so its CPU per request is kept as low as it goes
(``bench/api_serve.py`` uses it too).
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
from collections.abc import Callable
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


class Answers(asyncio.BufferedProtocol):
    """One keep-alive HTTP/1.1 connection's answers, read by Content-Length (no chunked encoding: the
    servers measured here always send a length). :meth:`ask` sends a request and returns (status, body).

    The socket is read straight into one buffer of the connection's own (``BufferedProtocol``), so an answer
    costs no allocation but its body's copy, and its client is woken once, when the answer is complete.
    """

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray(256 * 1024)
        self.view = memoryview(self.buffer)
        self.filled = 0  # bytes of the buffer read so far
        self.head_end = -1  # where the current answer's body starts, once its head is in
        self.size = 0  # head + body of the current answer
        self.status = 0
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.lost: BaseException | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def get_buffer(self, sizehint: int) -> memoryview:
        if len(self.buffer) - self.filled < 64 * 1024:  # an answer larger than the buffer: grow it
            self.view.release()
            self.buffer = self.buffer + bytearray(len(self.buffer))
            self.view = memoryview(self.buffer)
        return self.view[self.filled :]

    def buffer_updated(self, nbytes: int) -> None:
        self.filled += nbytes
        buffer = self.buffer
        if self.head_end < 0:
            end = buffer.find(b"\r\n\r\n", 0, self.filled)
            if end < 0:
                return
            self.head_end = end + 4
            self.status = int(buffer[9:12])
            length = 0
            for line in bytes(buffer[:end]).split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            self.size = self.head_end + length
        if self.filled >= self.size:
            body = bytes(self.view[self.head_end : self.size])
            rest = self.filled - self.size  # nothing, unless the server sent more than was asked
            if rest:
                buffer[:rest] = buffer[self.size : self.filled]
            self.filled, self.head_end = rest, -1
            self.answered(self.status, body)

    def answered(self, status: int, body: bytes) -> None:
        """An answer is complete: :meth:`ask`'s caller gets it."""
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((status, body))

    def eof_received(self) -> bool:
        return False  # close the transport: connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = exc or ConnectionResetError("connection closed")
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(self.lost)

    async def ask(self, request: bytes) -> tuple[int, bytes]:
        if self.lost is not None or self.transport is None:
            raise ConnectionResetError("connection closed")
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.waiter

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class Pump(Answers):
    """A closed loop on one connection, run in the protocol's callbacks: each answer is handed to
    ``on_answer(status, body, sent, answered)`` (``time.monotonic`` seconds) and the next request goes out
    at once, until ``stop``. No task is woken per answer; :attr:`finished` is done when the loop ends (its
    exception when the connection was lost first)."""

    def __init__(
        self, request: bytes, stop: float, on_answer: Callable[[int, bytes, float, float], None]
    ) -> None:
        super().__init__()
        self.request = request
        self.stop = stop
        self.on_answer = on_answer
        self.sent = 0.0
        self.finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._next()

    def _next(self) -> None:
        self.sent = time.monotonic()
        if self.sent >= self.stop:
            if not self.finished.done():
                self.finished.set_result(None)
            self.close()
        elif self.transport is not None:
            self.transport.write(self.request)

    def answered(self, status: int, body: bytes) -> None:
        self.on_answer(status, body, self.sent, time.monotonic())
        self._next()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if not self.finished.done():
            self.finished.set_exception(self.lost or ConnectionResetError("connection closed"))


async def pump(
    host: str, port: int, request: bytes, stop: float, on_answer: Callable[[int, bytes, float, float], None]
) -> None:
    """A :class:`Pump` on a new connection, until ``stop`` (OSError when the connection failed or was lost;
    TimeoutError when an answer is more than 30 s late at the end)."""
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_connection(lambda: Pump(request, stop, on_answer), host, port)
    try:
        await asyncio.wait_for(asyncio.shield(protocol.finished), max(0.0, stop - time.monotonic()) + 30)
    finally:
        protocol.close()


async def connect(host: str, port: int) -> Answers:
    """A new :class:`Answers` connection (TCP_NODELAY is asyncio's default for TCP)."""
    _, protocol = await asyncio.get_running_loop().create_connection(Answers, host, port)
    return protocol


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
    def on_answer(status: int, body: bytes, sent: float, done: float) -> None:
        answered[0] += 1
        if done >= start:
            if status == 200:
                latencies.append(done - sent)
            else:
                errors.append(status)

    await pump(host, port, request, stop, on_answer)


async def run(
    url: str, body: bytes, token: str | None, connections: int, seconds: float, warmup: float
) -> dict[str, Any]:
    host, port, request = _request(url, body, token)
    latencies: list[float] = []
    errors: list[int] = []
    answered = [0]  # warm-up included: what the server did while its CPU time was measured
    began = time.monotonic()
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
