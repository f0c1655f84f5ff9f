"""Who may request, see and cancel solve jobs: one function per rule, used by every path.

A job belongs to its RFQ: whoever may manage the RFQ's consortia may see and cancel its jobs. Today that is
the cluster office (coordinators), who see every RFQ (:func:`server.rfqs.rules.visible_rfqs`). A caller
who may not see a job gets ``NOT_FOUND``, as for a job that does not exist.
"""

from __future__ import annotations

from server.auth.principal import Principal, Role
from server.jobs.repo import SolveJob

SOLVING_ROLES = (Role.COORDINATOR,)
"""Roles that may request solves (checked again by each service)."""


def may_request_solve(principal: Principal) -> bool:
    """Coordinators only: buyers and factory owners never see proposals, nor the jobs that make them."""
    return principal.role in SOLVING_ROLES


def may_see_job(principal: Principal, job: SolveJob) -> bool:
    """A job is visible to those who may request solves for its RFQ (coordinators see every RFQ)."""
    return may_request_solve(principal)


def may_cancel_job(principal: Principal, job: SolveJob) -> bool:
    """Whoever sees a job may cancel it: the cluster office works as one."""
    return may_see_job(principal, job)


__all__ = ["SOLVING_ROLES", "may_cancel_job", "may_request_solve", "may_see_job"]
