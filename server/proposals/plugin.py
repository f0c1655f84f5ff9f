"""Installs this domain into the solve jobs' plug points (:mod:`server.jobs.plugins`):

- ``build_problem``: the real Problem builder (:func:`server.proposals.problem_builder.build_problem`); a
  request that carries a Problem JSON is still solved as given;
- ``store_results``: every solution becomes a proposal (:func:`server.proposals.service.store_job_proposals`).

Called where a worker is created (:class:`server.jobs.worker.Worker`), so ``machikoba worker`` and the
in-process worker of ``machikoba serve`` both do it; the jobs machinery itself imports no domain.
"""

from __future__ import annotations

from server.jobs import plugins
from server.proposals.problem_builder import build_problem
from server.proposals.service import store_job_proposals


def install() -> None:
    """Make every worker started afterwards in this process build Problems and store proposals."""
    plugins.install(build_problem=build_problem, store_results=store_job_proposals)


__all__ = ["install"]
