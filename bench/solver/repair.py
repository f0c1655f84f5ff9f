"""Benchmark of repair solves (issue 8): a member declines, the accepted shares stay fixed.

Per seed, a generated RFQ (``solver.generate``, 150 factories × 40 packages by default) is solved
(``original``); then its largest member (by production value) declines: the *repair* problem excludes it and
fixes every other member's assignments (``Problem.fixed``: quantities, and with ``days`` their days too), and
is solved with the same budget. Every CP-SAT search is bounded by ``--det`` seconds of deterministic time
(the wall limit is only a safety net), so the work done does not depend on the machine's speed; the wall
times do, and the machine is shared. Reported: status, objective, bound, wall time, first solution, the
model's eligible pairs, and the verifier's violations (which include the fixed shares).

    .venv/bin/python -m bench.solver.repair [--size 150x40] [--seeds 0,1,2] [--det 10] [--wall 300]
        [--workers 2] [--fixed quantities,days] [--out repair]

Writes ``bench/results/repair.{json,md}`` with the machine and its load average at the start and the end.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import defaultdict
from dataclasses import replace
from typing import Any

from bench.solver.gap_common import RESULTS, machine_info, machine_markdown
from solver import FixedAssignment, Problem, Solution, solve, verify
from solver.eligibility import analyse
from solver.generate import generate_problem


def repair_problem(problem: Problem, solution: Solution, *, pin_days: bool) -> tuple[Problem, str]:
    """The repair of ``solution``: its largest member (production value) declines and is excluded, every
    other assignment is fixed (with its days when ``pin_days``)."""
    value: dict[str, int] = defaultdict(int)
    for a in solution.assignments:
        value[a.factory] += problem.offer_by_pair[a.factory, a.package].unit_price * a.quantity
    decliner = max(sorted(value), key=lambda f: value[f])
    fixed = tuple(
        FixedAssignment(
            a.factory,
            a.package,
            a.quantity,
            a.start_day if pin_days else None,
            a.end_day if pin_days else None,
        )
        for a in solution.assignments
        if a.factory != decliner
    )
    policy = replace(problem.policy, excluded=problem.policy.excluded | {decliner})
    return replace(problem, policy=policy, fixed=fixed), decliner


def run(problem: Problem, det: float, wall: float, workers: int) -> dict[str, Any]:
    """One solve with its figures."""
    elig = analyse(problem)
    t = time.perf_counter()
    sol = solve(problem, time_limit_s=wall, workers=workers, deterministic_time_s=det)
    took = time.perf_counter() - t
    return {
        "status": sol.status,
        "objective": sol.objective,
        "bound": sol.bound,
        "gap": None if sol.gap is None else round(100 * sol.gap, 2),
        "wall_s": round(took, 2),
        "first_solution_s": None if sol.first_solution_s is None else round(sol.first_solution_s, 2),
        "members": len(sol.members),
        "eligible_pairs": elig.eligible_pairs,
        "candidate_pairs": elig.candidate_pairs,
        "violations": len(verify(problem, sol)),
        "explanation": None if sol.explanation is None else sol.explanation.summary,
        "_solution": sol,
    }


def main() -> None:
    """Run original and repair solves per seed and write the results."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", default="150x40")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--det", type=float, default=10.0, help="CP-SAT deterministic seconds per search")
    ap.add_argument("--wall", type=float, default=300.0, help="wall limit (a safety net)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--fixed", default="quantities,days", help="what the repair fixes: quantities, days")
    ap.add_argument("--out", default="repair")
    args = ap.parse_args()
    start = machine_info()
    factories, packages = (int(x) for x in args.size.split("x"))
    rows: list[dict[str, Any]] = []
    for seed in (int(s) for s in args.seeds.split(",") if s):
        problem = generate_problem(factories, packages, seed)
        name = f"{factories}x{packages}-s{seed}"
        original = run(problem, args.det, args.wall, args.workers)
        sol = original.pop("_solution")
        rows.append({"instance": name, "solve": "original", "fixed": 0, "decliner": None, **original})
        print(json.dumps(rows[-1]), flush=True)
        if not sol.has_consortium:
            continue
        for kind in (k for k in args.fixed.split(",") if k):
            repair, decliner = repair_problem(problem, sol, pin_days=kind == "days")
            row = run(repair, args.det, args.wall, args.workers)
            after: Solution = row.pop("_solution")
            kept = sum(
                1
                for fa in repair.fixed
                for a in after.assignments
                if (a.factory, a.package, a.quantity) == (fa.factory, fa.package, fa.quantity)
            )
            rows.append(
                {
                    "instance": name,
                    "solve": f"repair ({kind})",
                    "fixed": len(repair.fixed),
                    "fixed_kept": kept if after.has_consortium else None,
                    "decliner": decliner,
                    "decliner_assignments": sum(1 for a in sol.assignments if a.factory == decliner),
                    **row,
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    end = machine_info()
    doc = {
        "machine_start": start,
        "machine_end": end,
        "workers": args.workers,
        "deterministic_time_s": args.det,
        "wall_limit_s": args.wall,
        "rows": rows,
    }
    (RESULTS / f"{args.out}.json").write_text(json.dumps(doc, indent=1) + "\n")
    lines = [
        "# Repair solves: one member declines, the accepted shares stay fixed",
        "",
        f"Start: {machine_markdown(start)}",
        f"End: load average {end['loadavg']}; {end['date']}. Workers {args.workers}; "
        f"{os.cpu_count()} cores shared with other engineers' work (compare runs at similar load only).",
        f"Every CP-SAT search bounded by {args.det:g} s of deterministic time (wall limit {args.wall:g} s "
        "as a safety net); `repair (quantities)` fixes the accepted shares' quantities, `repair (days)` "
        "their days too. The decliner is the original answer's largest member by production value.",
        "",
        "| instance | solve | fixed | decliner (its assignments) | status | objective | gap % | wall s | "
        "first s | eligible pairs | violations |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        decl = "" if r["decliner"] is None else f"{r['decliner']} ({r['decliner_assignments']})"
        lines.append(
            f"| {r['instance']} | {r['solve']} | {r['fixed']} | {decl} | {r['status']} | {r['objective']} | "
            f"{r['gap']} | {r['wall_s']} | {r['first_solution_s']} | {r['eligible_pairs']} | "
            f"{r['violations']} |"
        )
    lines += [
        "",
        "Mean over the instances:",
        "",
        "| solve | runs | optimal | infeasible | wall s | eligible pairs |",
    ]
    lines.append("|---|---|---|---|---|---|")
    for kind in dict.fromkeys(r["solve"] for r in rows):
        rs = [r for r in rows if r["solve"] == kind]
        lines.append(
            f"| {kind} | {len(rs)} | {sum(r['status'] == 'optimal' for r in rs)} | "
            f"{sum(r['status'] == 'infeasible' for r in rs)} | "
            f"{sum(r['wall_s'] for r in rs) / len(rs):.2f} | "
            f"{sum(r['eligible_pairs'] for r in rs) / len(rs):.0f} |"
        )
    infeasible = [r for r in rows if r["status"] == "infeasible"]
    if infeasible:
        lines += ["", "Explanations of infeasible repairs:", ""]
        lines += [f"- {r['instance']} {r['solve']}: {r['explanation']}" for r in infeasible]
    (RESULTS / f"{args.out}.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS / args.out}.json and .md ({time.strftime('%H:%M:%S')})")


if __name__ == "__main__":
    main()
