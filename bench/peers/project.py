"""The project as ``machikoba serve`` runs it (settings from the environment), without the in-process
solve worker, for ``uvicorn --factory bench.peers.project:app``."""

from __future__ import annotations

from starlette.applications import Starlette

from server.app import create_app
from server.settings import Settings


def app() -> Starlette:
    return create_app(Settings.from_env())
