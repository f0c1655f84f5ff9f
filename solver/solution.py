"""The solver's answer: a consortium (assignments, schedule, costs) or an explanation of infeasibility."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal, get_args

from solver.problem import DEFAULT_ORIGIN

__all__ = [
    "Assignment",
    "CostBreakdown",
    "Explanation",
    "Progress",
    "Reason",
    "Relaxation",
    "Solution",
    "Status",
]

Status = Literal["optimal", "feasible", "infeasible", "unknown"]
STATUSES: tuple[str, ...] = get_args(Status)


@dataclass(frozen=True)
class Assignment:
    """``quantity`` units of ``package`` made by ``factory`` over days ``[start_day, end_day)``.

    The output is available on ``end_day`` (the next operation may start then, plus transport days).
    ``hours`` lists the machine-hours booked per week, ``((week, hours), …)`` in week order.
    """

    factory: str
    package: str
    quantity: int
    start_day: int
    end_day: int
    hours: tuple[tuple[int, float], ...] = ()

    @property
    def start_week(self) -> int:
        return self.start_day // 7

    @property
    def end_week(self) -> int:
        """The last week the work occupies."""
        return max(self.end_day - 1, self.start_day) // 7


@dataclass(frozen=True)
class CostBreakdown:
    """JPY. ``cohesion`` is zero or negative (a bonus); ``lateness`` is non-zero only with soft due dates."""

    production: int = 0
    setup: int = 0
    transport: int = 0
    coordination: int = 0
    cohesion: int = 0
    lateness: int = 0

    @property
    def total(self) -> int:
        return (
            self.production + self.setup + self.transport + self.coordination + self.cohesion + self.lateness
        )


@dataclass(frozen=True)
class Reason:
    """One cause of infeasibility in words; ``code`` is stable (``no_eligible_factory``, ``capacity`` …)."""

    code: str
    message: str
    subjects: tuple[str, ...] = ()


@dataclass(frozen=True)
class Relaxation:
    """A change that restores feasibility (checked by a solve where that was cheap)."""

    code: str
    message: str
    subjects: tuple[str, ...] = ()


@dataclass(frozen=True)
class Explanation:
    """Why no consortium exists: a one-paragraph ``summary``, the conflicting rules, and relaxations."""

    summary: str
    reasons: tuple[Reason, ...] = ()
    relaxations: tuple[Relaxation, ...] = ()


@dataclass(frozen=True)
class Progress:
    """An improving solution during the search (streamed to coordinators)."""

    objective: float
    bound: float
    elapsed_s: float
    phase: str = "main"

    @property
    def gap(self) -> float:
        return relative_gap(self.objective, self.bound)


def relative_gap(objective: float, bound: float) -> float:
    """``|objective - bound| / max(1, |objective|)``."""
    return abs(objective - bound) / max(1.0, abs(objective))


@dataclass(frozen=True)
class Solution:
    """A solve's result.

    ``objective`` is the value of the preset's objective (for ``fastest`` and ``fewest_members`` the cost
    after the primary criterion was fixed at its best value); ``bound`` and ``gap`` refer to the model that
    was solved, which holds only candidate pairs when ``pruned`` is true (then status is never optimal).
    """

    status: Status
    origin: date = DEFAULT_ORIGIN
    preset: str = "cheapest"
    assignments: tuple[Assignment, ...] = ()
    costs: CostBreakdown | None = None
    line_completion: dict[str, int] = field(default_factory=dict)
    completion_day: int | None = None
    members: tuple[str, ...] = ()
    lead: str | None = None
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    wall_s: float = 0.0
    first_solution_s: float | None = None
    pruned: bool = False
    explanation: Explanation | None = None

    @property
    def has_consortium(self) -> bool:
        return self.status in ("optimal", "feasible")
