"""Installs the real Problem builder as the solve jobs' ``build_problem`` plug point.

Called where a worker is created (:class:`server.jobs.worker.Worker`), so ``machikoba worker`` and the
in-process worker of ``machikoba serve`` both build Problems from the database. A request that carries a
Problem JSON is still solved as given (:func:`server.proposals.problem_builder.build_problem`).
"""

from __future__ import annotations

from server.jobs import plugins
from server.proposals.problem_builder import build_problem


def install_builder() -> None:
    """Make every worker started afterwards in this process build its Problems from the database."""
    plugins.install(build_problem=build_problem)


__all__ = ["install_builder"]
