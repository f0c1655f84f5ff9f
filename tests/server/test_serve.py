"""`machikoba serve` as a process: its embedded PostgreSQL stops with it, and a killed run's leftovers do not
keep the next start from working."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil  # type: ignore[import-untyped]
import pytest

from server.app import create_app
from server.settings import Settings

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

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        env = {**os.environ, "MACHIKOBA_DATA_DIR": str(data_dir)}
        env.pop("DATABASE_URL", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--port", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited: {self.process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
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
