"""Benchmark for issue 10 ("answers a coordinator can trust"): reported bounds, and member caps.

* ``bounds``: generated RFQs (``solver.generate``) of 150 × 40 and 500 × 100, seeds 0-2, solved at 10 s and
  30 s: objective, the reported bound and gap, and the gap of the LP relaxation bound alone
  (``solver/bound.py``; the reported bound is the larger of it and CP-SAT's).
* ``cap``: the same RFQs with ``max_members`` at 1.5 × the proven minimum member count (CP-SAT minimising
  the members for ``--minimum-s`` seconds gives the proof), solved at 30 s: time to the first feasible
  consortium, status, members and objective.

    .venv/bin/python -m bench.solver.trust [--parts bounds,cap] [--sizes 150x40,500x100] [--seeds 0,1,2]
        [--limits 10,30] [--cap-limit 30] [--minimum-s 20] [--workers 2]

Writes ``bench/results/trust.{json,md}`` with the machine and its load average at the start and the end.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from dataclasses import replace
from typing import Any

from ortools.sat.python import cp_model

from bench.solver.gap_common import RESULTS, machine_info, machine_markdown
from solver import Problem, solve, verify
from solver.bound import members_lower_bound, relaxation_bound
from solver.eligibility import analyse
from solver.generate import generate_problem
from solver.greedy import members_needed
from solver.model import build_model


def _gap(objective: float | None, bound: float | None) -> float | None:
    if objective is None or bound is None or objective == 0:
        return None
    return round(100.0 * (objective - bound) / abs(objective), 2)


def bounds_row(problem: Problem, limit: float, workers: int) -> dict[str, Any]:
    """One solve: objective, reported bound and gap, and the LP bound's own gap."""
    sol = solve(problem, time_limit_s=limit, workers=workers)
    elig = analyse(problem)
    lp = relaxation_bound(problem, build_model(problem, elig.candidates))
    return {
        "status": sol.status,
        "objective": sol.objective,
        "bound": sol.bound,
        "gap_pct": _gap(sol.objective, sol.bound),
        "lp_bound": None if lp is None else round(lp),
        "lp_gap_pct": _gap(sol.objective, lp),
        "wall_s": round(sol.wall_s, 2),
        "violations": len(verify(problem, sol)),
    }


def proven_minimum_members(problem: Problem, limit: float, workers: int) -> tuple[int, int | None]:
    """``(proven minimum, fewest found)`` members over every eligible pair: the largest of the coverage
    bound, the LP relaxation's and CP-SAT's bound after ``limit`` s of minimising the members."""
    elig = analyse(problem, None)
    b = build_model(problem, elig.eligible, with_members=True, member_cap=False)
    lp = members_lower_bound(problem, elig.eligible)
    proven = max(members_needed(elig.eligible), 0 if lp is None else math.ceil(lp - 1e-6))
    b.model.minimize(b.members_count())
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = limit
    solver.parameters.num_workers = workers
    status = solver.solve(b.model)
    best = round(solver.objective_value) if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) else None
    return max(proven, math.ceil(solver.best_objective_bound - 1e-6)), best


def cap_row(problem: Problem, limit: float, minimum_s: float, workers: int) -> dict[str, Any]:
    """Solve under a member cap of 1.5 × the proven minimum."""
    proven, fewest = proven_minimum_members(problem, minimum_s, workers)
    cap = max(1, math.floor(1.5 * proven))
    capped = replace(problem, policy=replace(problem.policy, max_members=cap))
    sol = solve(capped, time_limit_s=limit, workers=workers)
    return {
        "proven_minimum": proven,
        "fewest_found_in_minimum_run": fewest,
        "cap": cap,
        "status": sol.status,
        "first_solution_s": None if sol.first_solution_s is None else round(sol.first_solution_s, 2),
        "members": len(sol.members),
        "objective": sol.objective,
        "wall_s": round(sol.wall_s, 2),
        "violations": len(verify(capped, sol)),
        "explanation": None if sol.explanation is None else sol.explanation.summary,
    }


def main() -> None:
    """Run the chosen parts and write the results."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--parts", default="bounds,cap")
    ap.add_argument("--sizes", default="150x40,500x100")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--limits", default="10,30")
    ap.add_argument("--cap-limit", type=float, default=30.0)
    ap.add_argument("--minimum-s", type=float, default=20.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default="trust")
    args = ap.parse_args()
    start = machine_info()
    sizes = [tuple(int(x) for x in s.split("x")) for s in args.sizes.split(",") if s]
    seeds = [int(s) for s in args.seeds.split(",") if s]
    limits = [float(x) for x in args.limits.split(",") if x]
    rows: list[dict[str, Any]] = []
    parts = set(args.parts.split(","))
    for factories, packages in sizes:
        for seed in seeds:
            problem = generate_problem(factories, packages, seed)
            name = f"{factories}x{packages}-s{seed}"
            if "bounds" in parts:
                for limit in limits:
                    row = {"part": "bounds", "instance": name, "limit_s": limit}
                    row.update(bounds_row(problem, limit, args.workers))
                    rows.append(row)
                    print(json.dumps(row), flush=True)
            if "cap" in parts:
                row = {"part": "cap", "instance": name, "limit_s": args.cap_limit}
                row.update(cap_row(problem, args.cap_limit, args.minimum_s, args.workers))
                rows.append(row)
                print(json.dumps(row), flush=True)
    end = machine_info()
    doc = {"machine_start": start, "machine_end": end, "workers": args.workers, "rows": rows}
    (RESULTS / f"{args.out}.json").write_text(json.dumps(doc, indent=1) + "\n")
    lines = [
        "# Issue 10 benchmark: reported bounds and member caps",
        "",
        f"Start: {machine_markdown(start)}",
        f"End: load average {end['loadavg']}; {end['date']}. Workers {args.workers}; "
        f"{os.cpu_count()} cores shared with other work (compare runs at similar load only).",
        "",
    ]
    bound_rows = [r for r in rows if r["part"] == "bounds"]
    if bound_rows:
        lines += [
            "## Reported gap (larger of CP-SAT's bound and the LP relaxation) and the LP bound's own gap",
            "",
            "| instance | limit s | status | objective | bound | gap % | LP gap % | violations |",
            "|---|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {r['instance']} | {r['limit_s']:.0f} | {r['status']} | {r['objective']} | {r['bound']} | "
            f"{r['gap_pct']} | {r['lp_gap_pct']} | {r['violations']} |"
            for r in bound_rows
        ]
        lines.append("")
    cap_rows = [r for r in rows if r["part"] == "cap"]
    if cap_rows:
        lines += [
            "## Member cap at 1.5 × the proven minimum",
            "",
            "| instance | proven min | cap | status | first feasible s | members | objective | violations |",
            "|---|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {r['instance']} | {r['proven_minimum']} | {r['cap']} | {r['status']} | "
            f"{r['first_solution_s']} | {r['members']} | {r['objective']} | {r['violations']} |"
            for r in cap_rows
        ]
    (RESULTS / f"{args.out}.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS / args.out}.json and .md ({time.strftime('%H:%M:%S')})")


if __name__ == "__main__":
    main()
