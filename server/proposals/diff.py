"""What changed between two proposals of one lineage: members, quantities, cost and completion.

Pure: two :class:`solver.Solution` values in, a :class:`ProposalDiff` out. A coordinator reads it after a
revision ("exclude Kamata Kensaku"): who joined or left, which quantities moved to whom, and what that did
to cost and to each line's completion date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from solver import Solution


@dataclass(frozen=True)
class QuantityMove:
    """How much of one package a factory makes before and after."""

    package: str
    factory: str
    before: int
    after: int

    @property
    def delta(self) -> int:
        return self.after - self.before


@dataclass(frozen=True)
class ProposalDiff:
    joined: tuple[str, ...] = ()
    left: tuple[str, ...] = ()
    moves: tuple[QuantityMove, ...] = ()
    cost_delta: dict[str, int] = field(default_factory=dict)  # per cost component, and "total"
    completion_delta_days: dict[str, int] = field(default_factory=dict)  # per line

    def to_json(self) -> dict[str, Any]:
        return {
            "joined": list(self.joined),
            "left": list(self.left),
            "moves": [
                {"package": m.package, "factory": m.factory, "before": m.before, "after": m.after}
                for m in self.moves
            ],
            "costDelta": self.cost_delta,
            "completionDeltaDays": self.completion_delta_days,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProposalDiff:
        return cls(
            joined=tuple(data["joined"]),
            left=tuple(data["left"]),
            moves=tuple(QuantityMove(**m) for m in data["moves"]),
            cost_delta=dict(data["costDelta"]),
            completion_delta_days=dict(data["completionDeltaDays"]),
        )


def _quantities(solution: Solution) -> dict[tuple[str, str], int]:
    totals: dict[tuple[str, str], int] = {}
    for a in solution.assignments:
        totals[a.package, a.factory] = totals.get((a.package, a.factory), 0) + a.quantity
    return totals


def diff(parent: Solution, child: Solution) -> ProposalDiff:
    """``child`` compared with ``parent`` (an infeasible side counts as no members and no assignments)."""
    before, after = set(parent.members), set(child.members)
    old, new = _quantities(parent), _quantities(child)
    moves = tuple(
        QuantityMove(package, factory, old.get((package, factory), 0), new.get((package, factory), 0))
        for package, factory in sorted(old.keys() | new.keys())
        if old.get((package, factory), 0) != new.get((package, factory), 0)
    )
    cost_delta: dict[str, int] = {}
    if parent.costs is not None and child.costs is not None:
        for component in ("production", "setup", "transport", "coordination", "cohesion", "lateness"):
            cost_delta[component] = getattr(child.costs, component) - getattr(parent.costs, component)
        cost_delta["total"] = child.costs.total - parent.costs.total
    completion = {
        line: child.line_completion[line] - parent.line_completion[line]
        for line in sorted(parent.line_completion.keys() & child.line_completion.keys())
    }
    return ProposalDiff(
        joined=tuple(sorted(after - before)),
        left=tuple(sorted(before - after)),
        moves=moves,
        cost_delta=cost_delta,
        completion_delta_days=completion,
    )


__all__ = ["ProposalDiff", "QuantityMove", "diff"]
