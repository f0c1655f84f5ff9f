"""Typed settings, read from the environment in one place."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import platformdirs

Environment = Literal["dev", "prod"]


class SettingsError(ValueError):
    """An environment variable holds a value the service cannot use."""


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("machikoba"))


@dataclass(frozen=True)
class Settings:
    """Everything the service reads from its environment.

    ``database_url`` unset means: start an embedded PostgreSQL in ``data_dir``.
    """

    database_url: str | None = None
    data_dir: Path = field(default_factory=_default_data_dir)
    env: Environment = "dev"
    host: str = "127.0.0.1"
    port: int = 8000
    cors_origins: tuple[str, ...] = ("http://localhost:5173", "http://127.0.0.1:5173")
    session_ttl_hours: int = 24 * 14

    @property
    def session_ttl(self) -> dt.timedelta:
        """How long a session token stays valid after sign-in."""
        return dt.timedelta(hours=self.session_ttl_hours)

    @property
    def is_dev(self) -> bool:
        return self.env == "dev"

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
        origins = (
            tuple(o.strip() for o in env.get("MACHIKOBA_CORS_ORIGINS", "").split(",") if o.strip())
            or cls.cors_origins
        )
        ttl_text = env.get("MACHIKOBA_SESSION_TTL_HOURS", str(cls.session_ttl_hours))
        try:
            session_ttl_hours = int(ttl_text)
        except ValueError as exc:
            raise SettingsError(f"MACHIKOBA_SESSION_TTL_HOURS must be an integer, not {ttl_text!r}") from exc
        if session_ttl_hours < 1:
            raise SettingsError("MACHIKOBA_SESSION_TTL_HOURS must be at least 1")
        data_dir = env.get("MACHIKOBA_DATA_DIR")
        return cls(
            database_url=env.get("DATABASE_URL") or None,
            data_dir=Path(data_dir).expanduser() if data_dir else _default_data_dir(),
            env=mode,  # type: ignore[arg-type]  # checked above
            host=env.get("MACHIKOBA_HOST", "127.0.0.1"),
            port=port,
            cors_origins=origins,
            session_ttl_hours=session_ttl_hours,
        )
