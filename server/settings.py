"""Typed settings, read from the environment in one place."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import platformdirs

Environment = Literal["dev", "prod"]

DEV_CORS_ORIGINS = ("http://localhost:5173", "http://127.0.0.1:5173")
"""The local front-end's dev server; never allowed in prod unless listed in ``MACHIKOBA_CORS_ORIGINS``."""


class SettingsError(ValueError):
    """An environment variable holds a value the service cannot use."""


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("machikoba"))


@dataclass(frozen=True)
class SessionPolicy:
    """A session ends ``ttl`` after sign-in, or after ``idle`` without use; a person holds at most
    ``per_user`` sessions (signing in once more ends the oldest)."""

    ttl: dt.timedelta = dt.timedelta(days=14)
    idle: dt.timedelta = dt.timedelta(hours=72)
    per_user: int = 10


@dataclass(frozen=True)
class Settings:
    """Everything the service reads from its environment.

    ``database_url`` unset means: start an embedded PostgreSQL in ``data_dir``.

    Environment variables: ``DATABASE_URL``, ``MACHIKOBA_DATA_DIR``, ``MACHIKOBA_ENV`` (``dev`` | ``prod``),
    ``MACHIKOBA_HOST``, ``MACHIKOBA_PORT``, ``MACHIKOBA_CORS_ORIGINS`` (comma-separated; in prod nothing
    unless listed), ``MACHIKOBA_SESSION_TTL_HOURS``, and the cost limits of docs/security.md:
    ``MACHIKOBA_MAX_BODY_BYTES``, ``MACHIKOBA_MAX_QUERY_TOKENS``, ``MACHIKOBA_MAX_ALIASES``,
    ``MACHIKOBA_MAX_ROOT_FIELDS``, ``MACHIKOBA_MAX_DEPTH``, ``MACHIKOBA_MAX_QUERY_COST``,
    ``MACHIKOBA_REQUEST_TIMEOUT_S``, ``MACHIKOBA_INTROSPECTION`` (``true`` | ``false``; default: dev only),
    ``MACHIKOBA_FAST_EXECUTOR`` (``0``: graphql-core's general path for every field; see schema/executor.py),
    ``MACHIKOBA_CHECKED_PATH`` (``0``: every request through strawberry's HTTP view and extension hooks; see
    ``MachikobaGraphQL.run_checked`` in server/app.py).
    Solve jobs (:mod:`server.jobs`): ``inprocess_worker`` makes ``machikoba serve`` run one worker in its own
    process (``MACHIKOBA_INPROCESS_WORKER=0`` for split deployments that run ``machikoba worker``);
    ``worker_jobs`` is how many jobs one worker solves at once, each in its own subprocess with
    ``solver_threads`` CP-SAT threads; a job whose worker sent no heartbeat for ``job_heartbeat_s`` seconds
    is taken over by another worker.
    ``workers`` (``MACHIKOBA_WORKERS``) is how many processes ``machikoba serve`` answers HTTP with; unset, it
    is the number of CPUs this process may use in prod and 1 in dev (:attr:`serve_workers`).
    ``response_cache`` (``MACHIKOBA_RESPONSE_CACHE``, default on) answers repeated registry reads from memory
    (:mod:`server.cache`), at most ``response_cache_mb`` (``MACHIKOBA_RESPONSE_CACHE_MB``) per process.
    Invitations (:mod:`server.invitations`): ``price_tolerance_pct``
    (``MACHIKOBA_PRICE_TOLERANCE_PCT``, default 5): when members' accepted prices move an approved
    proposal's total by more than this percentage, a coordinator must confirm the new total.
    """

    database_url: str | None = None
    data_dir: Path = field(default_factory=_default_data_dir)
    env: Environment = "dev"
    host: str = "127.0.0.1"
    port: int = 8000
    cors_origins: tuple[str, ...] = DEV_CORS_ORIGINS
    session_ttl_hours: int = 24 * 14
    session_idle_hours: int = 72
    sessions_per_user: int = 10
    # Cost limits (docs/security.md). The defaults fit one 2-core server: each refused request costs
    # well under 100 ms, and the largest request allowed finishes in about a second.
    max_body_bytes: int = 1_048_576
    max_query_tokens: int = 2_000
    max_aliases: int = 30
    max_root_fields: int = 20
    max_depth: int = 12
    max_query_cost: int = 10_000
    request_timeout_s: float = 10.0
    # Plain fields completed by schema.executor.FastExecutor (same answers as graphql-core's general path).
    fast_executor: bool = True
    # A JSON POST of a document that passed every check before skips strawberry's view (same answers).
    checked_path: bool = True
    # None: on in dev, off in prod (a schema map helps attackers more than it helps prod clients).
    introspection: bool | None = None
    inprocess_worker: bool = True
    worker_jobs: int = 1
    solver_threads: int = 2
    job_heartbeat_s: int = 30
    workers: int | None = None
    response_cache: bool = True
    response_cache_mb: int = 64
    price_tolerance_pct: float = 5.0
    # None: on in dev, off in prod. uvicorn's line per request cost 12 % of rfqSubmit's throughput under 200
    # clients (docs/decisions.md "Access log"); in prod the proxy in front logs requests, the app its errors.
    access_log: bool | None = None

    @property
    def session_policy(self) -> SessionPolicy:
        """How long sessions last and how many a person may hold."""
        return SessionPolicy(
            ttl=dt.timedelta(hours=self.session_ttl_hours),
            idle=dt.timedelta(hours=self.session_idle_hours),
            per_user=self.sessions_per_user,
        )

    @property
    def serve_workers(self) -> int:
        """Processes ``machikoba serve`` answers with: ``workers``, else the usable CPUs in prod, 1 in dev."""
        if self.workers is not None:
            return self.workers
        return 1 if self.is_dev else len(os.sched_getaffinity(0))

    @property
    def is_dev(self) -> bool:
        return self.env == "dev"

    @property
    def access_log_enabled(self) -> bool:
        """Whether uvicorn logs a line per request (``MACHIKOBA_ACCESS_LOG``; default: in dev)."""
        return self.is_dev if self.access_log is None else self.access_log

    @property
    def introspection_enabled(self) -> bool:
        """Whether ``__schema`` / ``__type`` may be queried (``MACHIKOBA_INTROSPECTION``; default: in dev)."""
        return self.is_dev if self.introspection is None else self.introspection

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Read settings from ``environ`` (default: ``os.environ``)."""
        env = dict(os.environ if environ is None else environ)
        mode = env.get("MACHIKOBA_ENV", "dev")
        if mode not in ("dev", "prod"):
            raise SettingsError(f"MACHIKOBA_ENV must be 'dev' or 'prod', not {mode!r}")
        port_text = env.get("MACHIKOBA_PORT", "8000")
        try:
            port = int(port_text)
        except ValueError as exc:
            raise SettingsError(f"MACHIKOBA_PORT must be an integer, not {port_text!r}") from exc
        # Prod allows exactly the origins listed; the dev front-end's origins are a dev convenience only.
        origins = tuple(o.strip() for o in env.get("MACHIKOBA_CORS_ORIGINS", "").split(",") if o.strip()) or (
            DEV_CORS_ORIGINS if mode == "dev" else ()
        )
        data_dir = env.get("MACHIKOBA_DATA_DIR")
        introspection = env.get("MACHIKOBA_INTROSPECTION")
        if introspection not in (None, "", "0", "1", "true", "false"):
            raise SettingsError(f"MACHIKOBA_INTROSPECTION must be 'true' or 'false', not {introspection!r}")
        return cls(
            database_url=env.get("DATABASE_URL") or None,
            data_dir=Path(data_dir).expanduser() if data_dir else _default_data_dir(),
            env=mode,  # type: ignore[arg-type]  # checked above
            host=env.get("MACHIKOBA_HOST", "127.0.0.1"),
            port=port,
            cors_origins=origins,
            session_ttl_hours=_positive_int(env, "MACHIKOBA_SESSION_TTL_HOURS", cls.session_ttl_hours),
            session_idle_hours=_positive_int(env, "MACHIKOBA_SESSION_IDLE_HOURS", cls.session_idle_hours),
            sessions_per_user=_positive_int(env, "MACHIKOBA_SESSIONS_PER_USER", cls.sessions_per_user),
            max_body_bytes=_positive_int(env, "MACHIKOBA_MAX_BODY_BYTES", cls.max_body_bytes),
            max_query_tokens=_positive_int(env, "MACHIKOBA_MAX_QUERY_TOKENS", cls.max_query_tokens),
            max_aliases=_positive_int(env, "MACHIKOBA_MAX_ALIASES", cls.max_aliases),
            max_root_fields=_positive_int(env, "MACHIKOBA_MAX_ROOT_FIELDS", cls.max_root_fields),
            max_depth=_positive_int(env, "MACHIKOBA_MAX_DEPTH", cls.max_depth),
            max_query_cost=_positive_int(env, "MACHIKOBA_MAX_QUERY_COST", cls.max_query_cost),
            request_timeout_s=_positive_float(env, "MACHIKOBA_REQUEST_TIMEOUT_S", cls.request_timeout_s),
            fast_executor=_flag(env, "MACHIKOBA_FAST_EXECUTOR", cls.fast_executor),
            checked_path=_flag(env, "MACHIKOBA_CHECKED_PATH", cls.checked_path),
            introspection=None if not introspection else introspection in ("1", "true"),
            inprocess_worker=_flag(env, "MACHIKOBA_INPROCESS_WORKER", cls.inprocess_worker),
            worker_jobs=_positive_int(env, "MACHIKOBA_WORKER_JOBS", cls.worker_jobs),
            solver_threads=_positive_int(env, "MACHIKOBA_SOLVER_THREADS", cls.solver_threads),
            job_heartbeat_s=_positive_int(env, "MACHIKOBA_JOB_HEARTBEAT_S", cls.job_heartbeat_s),
            workers=_positive_int(env, "MACHIKOBA_WORKERS", 0) or None,
            response_cache=_flag(env, "MACHIKOBA_RESPONSE_CACHE", cls.response_cache),
            response_cache_mb=_positive_int(env, "MACHIKOBA_RESPONSE_CACHE_MB", cls.response_cache_mb),
            price_tolerance_pct=_positive_float(
                env, "MACHIKOBA_PRICE_TOLERANCE_PCT", cls.price_tolerance_pct, unit="percent"
            ),
            access_log=_flag(env, "MACHIKOBA_ACCESS_LOG", True) if env.get("MACHIKOBA_ACCESS_LOG") else None,
        )


def _flag(env: dict[str, str], name: str, default: bool) -> bool:
    """``env[name]`` as a yes/no switch (1/0, true/false, yes/no, on/off), or ``default`` when unset."""
    text = env.get(name)
    if text is None or not text.strip():
        return default
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be 1 or 0, not {text!r}")


def _positive_int(env: dict[str, str], name: str, default: int) -> int:
    """``env[name]`` as an integer of at least 1, or ``default`` when unset."""
    text = env.get(name)
    if text is None or not text.strip():
        return default
    try:
        value = int(text)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, not {text!r}") from exc
    if value < 1:
        raise SettingsError(f"{name} must be at least 1, not {value}")
    return value


def _positive_float(env: dict[str, str], name: str, default: float, *, unit: str = "seconds") -> float:
    text = env.get(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a number, not {text!r}") from exc
    if not value > 0 or value == float("inf"):
        raise SettingsError(f"{name} must be a positive number of {unit}")
    return value
