"""`machikoba serve` as a process: its embedded PostgreSQL stops with it, and a killed run's leftovers do not
keep the next start from working."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil  # type: ignore[import-untyped]
import pytest

from server.app import create_app
from server.cli import main
from server.serve import listen_sockets
from server.settings import Settings, SettingsError

STARTUP_S = 90.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def postgres_processes(pgdata: Path) -> list[psutil.Process]:
    """Every running postgres process whose command line names ``pgdata``."""
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if "postgres" in (process.info["name"] or "") and str(pgdata) in cmdline:
            found.append(process)
    return found


class Serve:
    """One `machikoba serve` child process on a free port."""

    def __init__(self, data_dir: Path, *options: str) -> None:
        self.port = free_port()
        env = {**os.environ, "MACHIKOBA_DATA_DIR": str(data_dir)}
        env.pop("DATABASE_URL", None)
        # The log goes to a file, not a pipe: nobody reads a pipe while the test runs, and a full one (uvicorn
        # logs every request) would block the service and its workers on their next log line.
        self.log = data_dir / "serve.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "server.cli", "serve", "--port", str(self.port), *options],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited: {self.log.read_text(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.process.kill()
        raise AssertionError("serve did not become healthy")

    def stop(self, signum: int) -> int:
        self.process.send_signal(signum)
        return self.process.wait(timeout=30)


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    # Whatever a failing test left running is stopped here.
    for process in postgres_processes(tmp_path / "pg"):
        process.kill()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_stops_its_embedded_postgres(data_dir: Path, signum: int) -> None:
    pgdata = (data_dir / "pg").resolve()
    serve = Serve(data_dir)
    assert postgres_processes(pgdata)
    assert serve.stop(signum) == 128 + signum
    assert not (pgdata / "postmaster.pid").exists()
    assert postgres_processes(pgdata) == []


def test_serve_recovers_from_a_killed_run(data_dir: Path) -> None:
    pgdata = (data_dir / "pg").resolve()
    serve = Serve(data_dir)
    postmaster = int((pgdata / "postmaster.pid").read_text().splitlines()[0])
    # kill -9 of everything: the service, and PostgreSQL with it (as a crash or an OOM kill would)
    serve.process.kill()
    serve.process.wait()
    os.kill(postmaster, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while postgres_processes(pgdata) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert (pgdata / "postmaster.pid").exists()
    # and the pid it names is now a live process that is not PostgreSQL (pid reuse)
    lines = (pgdata / "postmaster.pid").read_text().splitlines()
    (pgdata / "postmaster.pid").write_text("\n".join([str(os.getpid()), *lines[1:]]) + "\n")

    again = Serve(data_dir)
    assert again.stop(signal.SIGTERM) == 128 + signal.SIGTERM
    assert postgres_processes(pgdata) == []


async def test_the_app_stops_an_embedded_postgres_it_started(data_dir: Path) -> None:
    pgdata = (data_dir / "pg").resolve()
    app = create_app(Settings(database_url=None, data_dir=data_dir))
    async with app.router.lifespan_context(app):
        assert postgres_processes(pgdata)
    assert postgres_processes(pgdata) == []


def answering_pids(port: int, *, want: int, tries: int = 400) -> set[int]:
    """Pids named by ``X-Machikoba-Worker-Pid`` of GraphQL answers, each on a new connection, until ``want``
    different ones answered (or ``tries`` requests)."""
    seen: set[int] = set()
    for _ in range(tries):
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/graphql",
            data=b'{"query": "{ __typename }"}',
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.loads(response.read()) == {"data": {"__typename": "Query"}}
            seen.add(int(response.headers["x-machikoba-worker-pid"]))
        if len(seen) >= want:
            break
    return seen


def wait_for(condition: Callable[[], bool], timeout: float = STARTUP_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


def worker_processes(serve: Serve) -> list[psutil.Process]:
    """The worker processes of ``serve`` (spawned interpreters; not multiprocessing's resource tracker)."""
    found = []
    for child in psutil.Process(serve.process.pid).children():
        try:
            if "spawn_main" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.Error:  # gone, or a zombie not reaped yet
            continue
    return found


def test_serve_with_two_workers_answers_from_both_on_one_port(data_dir: Path) -> None:
    pgdata = (data_dir / "pg").resolve()
    serve = Serve(data_dir, "--workers", "2")
    workers = {process.pid for process in worker_processes(serve)}
    assert len(workers) == 2
    # both workers answer on the one port: the kernel spreads new connections over their sockets
    assert answering_pids(serve.port, want=2) == workers
    # only the parent started PostgreSQL; the workers connect to it by URL
    assert len(postgres_processes(pgdata)) == 1

    assert serve.stop(signal.SIGTERM) == 128 + signal.SIGTERM
    assert not any(psutil.pid_exists(pid) for pid in workers)
    assert postgres_processes(pgdata) == []


def test_serve_restarts_a_worker_that_died(data_dir: Path) -> None:
    serve = Serve(data_dir, "--workers", "2")

    def worker_pids() -> set[int]:
        return {process.pid for process in worker_processes(serve)}

    before = worker_pids()
    assert answering_pids(serve.port, want=2) == before  # both serve: a restart is for workers that served
    # ... and the parent has seen both report that they serve (it polls their ready flags)
    wait_for(lambda: serve.log.read_text(errors="replace").count(") is serving") == 2)
    killed = min(before)
    os.kill(killed, signal.SIGKILL)
    wait_for(lambda: len(worker_pids() - before) == 1 and killed not in worker_pids())
    after = worker_pids()
    # the new worker serves on the dead one's socket
    assert answering_pids(serve.port, want=2) == after
    assert serve.stop(signal.SIGINT) == 128 + signal.SIGINT
    assert not any(psutil.pid_exists(pid) for pid in after)


def test_workers_stop_when_the_serve_process_is_killed(data_dir: Path) -> None:
    pgdata = (data_dir / "pg").resolve()
    serve = Serve(data_dir, "--workers", "2")
    workers = [
        c for c in psutil.Process(serve.process.pid).children() if "spawn_main" in " ".join(c.cmdline())
    ]
    serve.process.kill()
    serve.process.wait()
    _, alive = psutil.wait_procs(workers, timeout=30)
    assert alive == []
    for process in postgres_processes(pgdata):  # the killed parent could not stop it
        process.kill()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "machikoba: --workers must be at least 1, not 0\n"),
        ("-3", "machikoba: --workers must be at least 1, not -3\n"),
        ("two", "machikoba: --workers must be a whole number, not 'two'\n"),
    ],
)
def test_workers_argument_errors_are_one_line(
    value: str,
    message: str,
    capsys: pytest.CaptureFixture[str],
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MACHIKOBA_DATA_DIR", str(data_dir))
    assert main(["serve", "--port", str(free_port()), f"--workers={value}"]) == 2
    assert capsys.readouterr().err == message
    assert postgres_processes((data_dir / "pg").resolve()) == []


def test_workers_setting() -> None:
    assert Settings.from_env({}).serve_workers == 1
    assert Settings.from_env({"MACHIKOBA_ENV": "prod"}).serve_workers == len(os.sched_getaffinity(0))
    assert Settings.from_env({"MACHIKOBA_ENV": "prod", "MACHIKOBA_WORKERS": "3"}).serve_workers == 3
    assert Settings.from_env({"MACHIKOBA_WORKERS": "2"}).serve_workers == 2
    with pytest.raises(SettingsError, match="MACHIKOBA_WORKERS must be at least 1"):
        Settings.from_env({"MACHIKOBA_WORKERS": "0"})


def test_worker_sockets_share_the_port_and_send_without_delay() -> None:
    sockets = listen_sockets("127.0.0.1", 0, 2)
    try:
        port = sockets[0].getsockname()[1]
        assert sockets[1].getsockname()[1] == port
        for sock in sockets:
            assert sock.proto == socket.IPPROTO_TCP  # asyncio sets TCP_NODELAY on what such a socket accepts
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        with socket.create_connection(("127.0.0.1", port)):
            # the kernel hands the connection to one of the two sockets
            readable, _, _ = select.select(sockets, [], [], 5)
            accepted, _ = readable[0].accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        for sock in sockets:
            sock.close()
