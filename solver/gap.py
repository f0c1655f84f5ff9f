"""OR-Library Generalized Assignment Problem (GAP) files for the product path ``machikoba solve --orlib-gap``.

The GAP is the simplest special case of the consortium problem: every job (work package) goes whole to
exactly one agent (factory), every agent has one capacity, and the total assignment cost is minimised::

    min  sum_ij c[i][j] x[i][j]
    s.t. sum_i x[i][j] = 1            for every job j
         sum_j r[i][j] x[i][j] <= b[i] for every agent i
         x binary

This module reads instance files (:func:`read_gap_file`) and maps an instance to and from the general
consortium solver (:func:`gap_to_problem`, :func:`gap_assignment`, :func:`gap_hint`): the solver's kernel
search (:mod:`solver.kernel`) then applies. The tuned GAP-only pipeline, the HiGHS peer and the greedy
baseline that the benchmarks compare against live in ``bench/solver/gap_pipeline.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from solver.problem import Problem
    from solver.solution import Solution

__all__ = [
    "GapFormatError",
    "GapInstance",
    "gap_assignment",
    "gap_hint",
    "gap_to_problem",
    "read_gap_file",
]


class GapFormatError(ValueError):
    """A GAP instance file is malformed, or the requested instance does not exist in it."""


@dataclass(frozen=True)
class GapInstance:
    """A minimisation GAP instance: ``m`` agents, ``n`` jobs.

    ``costs[i][j]`` and ``resources[i][j]`` are the cost and the capacity use of assigning job ``j`` to
    agent ``i``; ``capacities[i]`` is the capacity of agent ``i``.
    """

    costs: tuple[tuple[int, ...], ...]
    resources: tuple[tuple[int, ...], ...]
    capacities: tuple[int, ...]
    name: str = ""

    def __post_init__(self) -> None:
        m = len(self.capacities)
        if len(self.costs) != m or len(self.resources) != m:
            raise ValueError(f"GAP instance needs {m} cost and resource rows (one per capacity)")
        n = len(self.costs[0]) if m else 0
        if any(len(row) != n for row in self.costs) or any(len(row) != n for row in self.resources):
            raise ValueError(f"GAP instance cost and resource rows must all have {n} entries")

    @property
    def agents(self) -> int:
        """Number of agents ``m``."""
        return len(self.capacities)

    @property
    def jobs(self) -> int:
        """Number of jobs ``n``."""
        return len(self.costs[0]) if self.costs else 0

    def cost_of(self, assignment: Sequence[int]) -> int:
        """Total cost of ``assignment`` (job -> agent)."""
        return sum(self.costs[i][j] for j, i in enumerate(assignment))

    def is_feasible(self, assignment: Sequence[int]) -> bool:
        """Whether ``assignment`` assigns every job to a valid agent within all capacities."""
        if len(assignment) != self.jobs or any(not 0 <= i < self.agents for i in assignment):
            return False
        load = [0] * self.agents
        for j, i in enumerate(assignment):
            load[i] += self.resources[i][j]
        return all(load[i] <= self.capacities[i] for i in range(self.agents))


# --------------------------------------------------------------------------------------------- reading


def _int_tokens(path: Path) -> list[int]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise GapFormatError(f"{path}: cannot read GAP file ({exc})") from exc
    tokens = text.split()
    values: list[int] = []
    for pos, tok in enumerate(tokens):
        try:
            values.append(int(tok))
        except ValueError:
            raise GapFormatError(f"{path}: token {pos + 1} is {tok!r}, expected an integer") from None
    return values


def _instance_size(path: Path, values: list[int], start: int, label: str) -> int:
    """Number of tokens of the instance starting at ``start`` (``m n`` header included); raises when the
    file ends before the header or inside the instance."""
    if start + 2 > len(values):
        raise GapFormatError(f"{path}: {label}: the file ends before its 'm n' header")
    m, n = values[start], values[start + 1]
    if m <= 0 or n <= 0:
        raise GapFormatError(f"{path}: {label}: agents m={m} and jobs n={n} must be positive")
    size = 2 + 2 * m * n + m
    if start + size > len(values):
        raise GapFormatError(
            f"{path}: {label} ({m} agents x {n} jobs) is truncated: it needs {size} integers from integer "
            f"{start + 1}, but the file ends after {len(values) - start}"
        )
    return size


def read_gap_file(path: str | Path, instance: int = 1) -> GapInstance:
    """Read instance ``instance`` (1-based) of a GAP file.

    Two layouts are accepted, detected by their token counts: the OR-Library layout (instance count ``P``,
    then ``P`` times ``m n``, costs ``m x n``, resources ``m x n``, capacities ``m``) and a single-instance
    file without the leading count. Raises :class:`GapFormatError` on malformed files or when
    ``instance`` is out of range.
    """
    p = Path(path)
    values = _int_tokens(p)
    if not values:
        raise GapFormatError(f"{p}: empty GAP file")
    # Single instance without count: 'm n' header and exactly 2mn + m more tokens.
    single = len(values) >= 2 and values[0] > 0 and values[1] > 0
    if single and 2 + 2 * values[0] * values[1] + values[0] == len(values):
        starts = [0]
    else:
        count = values[0]
        if count <= 0:
            raise GapFormatError(f"{p}: leading instance count is {count}, expected a positive integer")
        starts = []
        pos = 1
        try:
            for k in range(count):
                starts.append(pos)
                pos += _instance_size(p, values, pos, f"instance {k + 1} of {count}")
        except GapFormatError as exc:
            single_size = 2 + 2 * values[0] * values[1] + values[0] if single else 0
            if single_size > len(values):
                # Also readable as the header of one instance without a count: say both.
                raise GapFormatError(
                    f"{exc}; read as a single {values[0]} x {values[1]} instance without a count, it is "
                    f"truncated too ({single_size} integers needed, {len(values)} in the file)"
                ) from None
            raise
        if pos != len(values):
            raise GapFormatError(
                f"{p}: {count} instance(s) take {pos} integers but the file has {len(values)}"
                " (wrong counts, or truncated/extra data)"
            )
    if not 1 <= instance <= len(starts):
        raise GapFormatError(f"{p}: instance {instance} requested but the file holds {len(starts)}")
    s = starts[instance - 1]
    m, n = values[s], values[s + 1]
    body = values[s + 2 : s + 2 + 2 * m * n + m]
    costs = tuple(tuple(body[i * n : (i + 1) * n]) for i in range(m))
    off = m * n
    resources = tuple(tuple(body[off + i * n : off + (i + 1) * n]) for i in range(m))
    capacities = tuple(body[2 * m * n :])
    if any(r < 0 for row in resources for r in row) or any(b < 0 for b in capacities):
        raise GapFormatError(f"{p}: instance {instance}: negative resource use or capacity")
    name = p.stem if len(starts) == 1 else f"{p.stem}-{instance}"
    return GapInstance(costs=costs, resources=resources, capacities=capacities, name=name)


# --------------------------------------------------------------------------------------------- consortium


GAP_PROCESS = "gap"


def _agent_id(i: int) -> str:
    return f"agent{i:03d}"


def _job_id(j: int) -> str:
    return f"job{j:04d}"


def gap_to_problem(inst: GapInstance) -> Problem:
    """Map a GAP instance to a consortium :class:`solver.Problem` (preset ``cheapest``).

    Agents become factories with one capacity bucket (process ``"gap"``, week 0, ``capacities[i]`` hours);
    jobs become unsplittable single-operation packages of quantity 1 without due date; every (agent, job)
    pair is an offer with unit price ``costs[i][j]``, ``resources[i][j]`` hours per unit and no setup.
    The consortium's total cost then equals the GAP objective.
    """
    from solver.problem import Capacity, Factory, Offer, Problem, WorkPackage

    m, n = inst.agents, inst.jobs
    factories = tuple(Factory(id=_agent_id(i), prefecture="gap") for i in range(m))
    packages = tuple(
        WorkPackage(
            id=_job_id(j), line=_job_id(j), operation=0, process=GAP_PROCESS, quantity=1, splittable=False
        )
        for j in range(n)
    )
    offers = tuple(
        Offer(
            factory=_agent_id(i),
            package=_job_id(j),
            unit_price=inst.costs[i][j],
            hours_per_unit=float(inst.resources[i][j]),
        )
        for i in range(m)
        for j in range(n)
    )
    capacity = tuple(
        Capacity(factory=_agent_id(i), process=GAP_PROCESS, week=0, hours=float(inst.capacities[i]))
        for i in range(m)
    )
    return Problem(
        factories=factories, packages=packages, offers=offers, capacity=capacity, name=inst.name or "gap"
    )


def gap_assignment(problem: Problem, solution: Solution) -> list[int]:
    """Job -> 0-based agent of a consortium ``solution`` of ``gap_to_problem(inst)`` (empty if none).

    Agents and jobs are numbered by their order in ``problem.factories`` / ``problem.packages``.
    """
    if not solution.assignments:
        return []
    agent = {f.id: i for i, f in enumerate(problem.factories)}
    job = {p.id: j for j, p in enumerate(problem.packages)}
    out = [-1] * len(problem.packages)
    for a in solution.assignments:
        if a.quantity > 0:
            out[job[a.package]] = agent[a.factory]
    return out


def gap_hint(problem: Problem, assignment: Sequence[int]) -> dict[tuple[str, str], int]:
    """A ``solver.solve(..., hint=...)`` mapping ``(factory, package) -> quantity`` for a GAP assignment."""
    return {(problem.factories[i].id, problem.packages[j].id): 1 for j, i in enumerate(assignment)}
