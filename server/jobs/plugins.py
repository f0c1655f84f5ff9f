"""The two plug points of solve jobs, their default implementations, and the request they receive.

A worker calls, for each job (see :mod:`server.jobs` for the whole flow):

- ``build_problem(conn, rfq_id, request) -> solver.Problem`` — before the solve, with a pooled connection
  (no transaction open). Raise :class:`JobInputError` (or let ``solver.ProblemError`` through) when no
  Problem can be built: the job then fails with that message and is not retried.
- ``store_results(conn, job_id, solutions) -> None`` — after the solve, inside the transaction that marks
  the job ``succeeded``. It must be idempotent and keyed on ``job_id`` (a unique constraint), because a job
  whose worker died after solving runs again: the second call must not add a second set.

:func:`install` replaces either; the defaults below are what runs until the Problem builder and the
proposals store exist:

- :func:`problem_from_request` solves the Problem JSON a coordinator put in the request (``problem``),
  with the request's policy overrides and ``firmOnly`` applied; without one, the job fails saying so.
- :func:`store_solutions` writes the solver's solutions to ``solve_job_solutions`` (one row per solution,
  keyed on job and rank), which ``SolveJob.solutions`` shows. A real store may call it as well.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from server.db import Connection
from server.jobs import repo
from solver import Policy, Problem, Solution, problem_from_json, solution_to_json


class JobInputError(Exception):
    """No Problem can be built for this job; the message says why, in words a coordinator understands."""


@dataclass(frozen=True)
class PolicyOverrides:
    """Rules a coordinator sets for one request; ``None`` keeps what the Problem builder decided."""

    max_members: int | None = None
    min_members: int | None = None
    max_share: float | None = None
    pinned: tuple[str, ...] | None = None
    excluded: tuple[str, ...] | None = None
    lead_certification: str | None = None
    coordination_cost: int | None = None
    lateness_penalty_per_day: int | None = None
    cohesion_bonus: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            k: list(v) if isinstance(v, tuple) else v
            for k, v in dataclasses.asdict(self).items()
            if v is not None
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PolicyOverrides:
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**values)

    def apply(self, policy: Policy) -> Policy:
        changes: dict[str, Any] = {}
        for name, value in dataclasses.asdict(self).items():
            if value is not None:
                changes[name] = frozenset(value) if isinstance(value, tuple) else value
        return dataclasses.replace(policy, **changes)


@dataclass(frozen=True)
class SolveRequest:
    """What a coordinator asked for (stored as the job's ``request``)."""

    presets: tuple[str, ...] = ("cheapest",)
    alternatives: int = 0
    time_limit_s: int = 30
    firm_only: bool = False
    policy: PolicyOverrides = PolicyOverrides()
    problem: dict[str, Any] | None = None
    """A Problem JSON (``machikoba.problem/1``) given with the request, for the default builder. Stored in
    the job's ``problem`` column, which the worker then overwrites with the Problem it solves (so a retried
    job gets the Problem with the request applied: applying it again changes nothing)."""

    def to_json(self) -> dict[str, Any]:
        """The job's ``request`` column: everything but ``problem``, which has a column of its own."""
        return {
            "presets": list(self.presets),
            "alternatives": self.alternatives,
            "timeLimitS": self.time_limit_s,
            "firmOnly": self.firm_only,
            "policy": self.policy.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], *, problem: dict[str, Any] | None = None) -> SolveRequest:
        return cls(
            presets=tuple(data["presets"]),
            alternatives=data["alternatives"],
            time_limit_s=data["timeLimitS"],
            firm_only=data["firmOnly"],
            policy=PolicyOverrides.from_json(data.get("policy", {})),
            problem=problem,
        )


@dataclass(frozen=True)
class JobSolution:
    """One solution of a finished job: rank 1, 2 … in the order the presets were asked for, then the
    alternatives of the first preset."""

    rank: int
    preset: str
    solution: Solution


class ProblemBuilder(Protocol):
    async def __call__(self, conn: Connection, rfq_id: UUID, request: SolveRequest) -> Problem: ...


class ResultStore(Protocol):
    async def __call__(self, conn: Connection, job_id: UUID, solutions: Sequence[JobSolution]) -> None: ...


def apply_request(problem: Problem, request: SolveRequest) -> Problem:
    """``problem`` with the request's policy overrides, and without estimated offers when ``firmOnly``.

    Raises ``solver.ProblemError`` when the result is not a valid Problem (a package left without offers,
    a pinned factory that is not in it …).
    """
    offers = tuple(o for o in problem.offers if o.firm) if request.firm_only else problem.offers
    return dataclasses.replace(problem, offers=offers, policy=request.policy.apply(problem.policy))


async def problem_from_request(conn: Connection, rfq_id: UUID, request: SolveRequest) -> Problem:
    """The default builder: the Problem JSON given with the request, with the request applied."""
    if request.problem is None:
        raise JobInputError(
            "No Problem builder is installed on this server yet, and the request carried no Problem JSON "
            "(`problem`) to solve."
        )
    given = request.problem
    # Parsing and validating a large Problem takes a while: in a thread, not on the event loop.
    return await asyncio.to_thread(lambda: apply_request(problem_from_json(given), request))


async def store_solutions(conn: Connection, job_id: UUID, solutions: Sequence[JobSolution]) -> None:
    """The default store: every solution as JSON in ``solve_job_solutions``, once per job."""
    await repo.insert_solutions(
        conn, job_id=job_id, solutions=[(s.preset, solution_to_json(s.solution)) for s in solutions]
    )


@dataclass
class Plugins:
    """The plug points a worker uses (see the module docstring)."""

    build_problem: ProblemBuilder = problem_from_request
    store_results: ResultStore = store_solutions


PLUGINS = Plugins()
"""What workers started without explicit plug points use; :func:`install` changes it."""


def install(*, build_problem: ProblemBuilder | None = None, store_results: ResultStore | None = None) -> None:
    """Replace the default builder and/or store for every worker started afterwards in this process."""
    if build_problem is not None:
        PLUGINS.build_problem = build_problem
    if store_results is not None:
        PLUGINS.store_results = store_results


__all__ = [
    "PLUGINS",
    "JobInputError",
    "JobSolution",
    "Plugins",
    "PolicyOverrides",
    "ProblemBuilder",
    "ResultStore",
    "SolveRequest",
    "apply_request",
    "install",
    "problem_from_request",
    "store_solutions",
]
