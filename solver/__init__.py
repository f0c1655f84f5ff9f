"""machikoba's consortium solver: pure Python + CP-SAT, no database, no GraphQL.

``solve(problem) -> Solution`` finds the best consortium by the policy's preset; ``alternatives`` gives
several with different member sets; ``verify`` re-checks a solution without CP-SAT.
"""

from solver.jsonio import problem_from_json, problem_to_json, solution_from_json, solution_to_json
from solver.problem import (
    Capacity,
    Collaboration,
    Factory,
    FixedAssignment,
    Offer,
    Policy,
    Preset,
    Problem,
    ProblemError,
    TransportLink,
    WorkPackage,
)
from solver.solution import (
    Assignment,
    CostBreakdown,
    Explanation,
    Progress,
    Reason,
    Relaxation,
    Solution,
    Status,
)
from solver.solve import alternatives, solve
from solver.verify import verify

__all__ = [
    "Assignment",
    "Capacity",
    "Collaboration",
    "CostBreakdown",
    "Explanation",
    "Factory",
    "FixedAssignment",
    "Offer",
    "Policy",
    "Preset",
    "Problem",
    "ProblemError",
    "Progress",
    "Reason",
    "Relaxation",
    "Solution",
    "Status",
    "TransportLink",
    "WorkPackage",
    "alternatives",
    "problem_from_json",
    "problem_to_json",
    "solution_from_json",
    "solution_to_json",
    "solve",
    "verify",
]
