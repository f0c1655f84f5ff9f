"""Benchmark for issue 10 ("answers a coordinator can trust"): reported bounds, and member caps.

* ``bounds``: generated RFQs (``solver.generate``) of 150 × 40 and 500 × 100, seeds 0-2, solved at 10 s and
  30 s: objective, the reported bound and gap, and the gap of the LP relaxation bound alone
  (``solver/bound.py``; the reported bound is the larger of it and CP-SAT's).
* ``cap``: the same RFQs under ``max_members`` caps, solved at ``--cap-limit`` s: one below the proven
  minimum (expected: infeasible at once), 1.5 × the proven minimum, and the fewest members found (CP-SAT
  minimising the members on the exact model for ``--minimum-s`` s, or those solves) when another cap. The
  proven minimum is the largest of coverage, the LP relaxation and the time-aware relaxation
  (``solver.caps.members_time_bound``, SCIP for ``--minimum-s`` s); the solve proves its own within its
  time. Per solve: status, time to the first feasible consortium, members, objective, wall time against the
  limit, violations, the load average.

    .venv/bin/python -m bench.solver.trust [--parts bounds,cap] [--sizes 150x40,500x100] [--seeds 0,1,2]
        [--limits 10,30] [--cap-limit 30] [--minimum-s 20] [--workers 2] [--out trust]

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
from solver.caps import members_time_bound
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


def proven_minimum_members(problem: Problem, limit: float, workers: int) -> dict[str, Any]:
    """The member bounds over every eligible pair (coverage, LP, the time-aware relaxation given ``limit``
    s, CP-SAT's bound after ``limit`` s of minimising the members on the exact model), the proven minimum
    (the largest) and the fewest members CP-SAT found."""
    elig = analyse(problem, None)
    coverage = members_needed(elig.eligible)
    lp = members_lower_bound(problem, elig.eligible)
    t0 = time.perf_counter()
    timed = members_time_bound(problem, elig.eligible, time_limit_s=limit)
    timed_s = time.perf_counter() - t0
    b = build_model(problem, elig.eligible, with_members=True, member_cap=False)
    b.model.minimize(b.members_count())
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = limit
    solver.parameters.num_workers = workers
    status = solver.solve(b.model)
    best = round(solver.objective_value) if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) else None
    cp_bound = solver.best_objective_bound
    bounds = {
        "coverage": coverage,
        "lp": None if lp is None else math.ceil(lp - 1e-6),
        "lp_value": None if lp is None else round(lp, 2),
        "time_aware": None if timed is None else timed.value,
        "time_aware_exact": None if timed is None else timed.exact,
        "time_aware_s": round(timed_s, 1),
        "cp_sat": math.ceil(cp_bound - 1e-6) if math.isfinite(cp_bound) else None,
    }
    proven = max(v for k, v in bounds.items() if k in ("coverage", "lp", "time_aware", "cp_sat") and v)
    return {"bounds": bounds, "proven_minimum": proven, "fewest_found": best}


def capped_solve(problem: Problem, cap: int, limit: float, workers: int) -> dict[str, Any]:
    """One solve under ``max_members = cap``."""
    capped = replace(problem, policy=replace(problem.policy, max_members=cap))
    sol = solve(capped, time_limit_s=limit, workers=workers)
    return {
        "cap": cap,
        "status": sol.status,
        "first_solution_s": None if sol.first_solution_s is None else round(sol.first_solution_s, 2),
        "members": len(sol.members),
        "objective": sol.objective,
        "wall_s": round(sol.wall_s, 2),
        "over_limit_pct": round(100.0 * (sol.wall_s - limit) / limit, 1),
        "violations": len(verify(capped, sol)),
        "explanation": None if sol.explanation is None else sol.explanation.summary,
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }


def capped_rows(problem: Problem, limit: float, minimum_s: float, workers: int) -> list[dict[str, Any]]:
    """Solves under a cap one below the proven minimum, at 1.5 × it, and at the fewest members found (by
    CP-SAT minimising them on the exact model, or by those solves) when that is another cap."""
    known = proven_minimum_members(problem, minimum_s, workers)
    proven = known["proven_minimum"]
    caps: list[tuple[str, int]] = []
    if proven > 1:
        caps.append(("below proven", proven - 1))
    caps.append(("1.5 × proven", max(1, math.floor(1.5 * proven))))
    rows: list[dict[str, Any]] = []
    fewest = known["fewest_found"]
    while caps:
        kind, cap = caps.pop(0)
        row = {"cap_kind": kind, "proven_minimum": proven, "bounds": known["bounds"]}
        row.update(capped_solve(problem, cap, limit, workers))
        rows.append(row)
        if row["status"] in ("optimal", "feasible"):
            fewest = row["members"] if fewest is None else min(fewest, row["members"])
        if not caps and fewest is not None and all(r["cap"] != fewest for r in rows):
            caps.append(("fewest found", fewest))
    for row in rows:
        row["fewest_found"] = fewest
    return rows


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
                for found in capped_rows(problem, args.cap_limit, args.minimum_s, args.workers):
                    row = {"part": "cap", "instance": name, "limit_s": args.cap_limit, **found}
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
            "## Member bounds (proven minimum: the largest; fewest found: CP-SAT on the model, or a solve)",
            "",
            "| instance | coverage | LP | time-aware (exact?, s) | CP-SAT bound | proven min | fewest found "
            "|",
            "|---|---|---|---|---|---|---|",
        ]
        seen: set[str] = set()
        for r in cap_rows:
            if r["instance"] in seen:
                continue
            seen.add(r["instance"])
            bd = r["bounds"]
            lines.append(
                f"| {r['instance']} | {bd['coverage']} | {bd['lp']} ({bd['lp_value']}) | "
                f"{bd['time_aware']} ({bd['time_aware_exact']}, {bd['time_aware_s']}) | {bd['cp_sat']} | "
                f"{r['proven_minimum']} | {r['fewest_found']} |"
            )
        lines += [
            "",
            f"## Capped solves at {cap_rows[0]['limit_s']:.0f} s",
            "",
            "| instance | cap | cap kind | status | first feasible s | members | objective | wall s "
            "| over limit % | violations | load |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {r['instance']} | {r['cap']} | {r['cap_kind']} | {r['status']} | {r['first_solution_s']} | "
            f"{r['members']} | {r['objective']} | {r['wall_s']} | {r['over_limit_pct']} | "
            f"{r['violations']} | {r['loadavg'][0]} |"
            for r in cap_rows
        ]
        lines += ["", "Answers without a consortium:", ""]
        lines += [
            f"- {r['instance']}, cap {r['cap']} ({r['cap_kind']}): {r['explanation']}"
            for r in cap_rows
            if r["explanation"]
        ]
    (RESULTS / f"{args.out}.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS / args.out}.json and .md ({time.strftime('%H:%M:%S')})")


if __name__ == "__main__":
    main()
