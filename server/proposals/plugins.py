"""What solve workers do with this domain: build Problems from the database and store proposals.

Installed where a worker starts (``machikoba worker``, and the in-process worker of ``machikoba serve``), so
the jobs machinery (:mod:`server.jobs`) does not import the domains it serves.
"""

from __future__ import annotations

from server.jobs import plugins
from server.proposals.service import store_job_proposals


def install_domain_plugins() -> None:
    plugins.install(store_results=store_job_proposals)


__all__ = ["install_domain_plugins"]
