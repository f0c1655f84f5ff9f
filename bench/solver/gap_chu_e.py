"""Benchmark (2): Chu & Beasley A-D (24) and Yagiura type E (6), side by side CP-SAT / HiGHS / greedy.

Run: ``.venv/bin/python -m bench.solver.gap_chu_e [--time-limit 10] [--sets abcde]
[--methods ours,highs,greedy]``.
Each instance is solved by ``solve_gap`` (ours), ``highs_gap`` (same MIP, HiGHS, same limit and threads)
and ``greedy_gap``; the gap to the best known value of ``reference/fontanf_data.csv`` is reported.
Writes ``bench/results/gap_chu_e.json`` and ``gap_chu_e.md``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from bench.solver.gap_common import (
    RESULTS,
    SETS,
    SIZES,
    gap_data,
    load_named,
    machine_info,
    machine_markdown,
    reference,
)
from bench.solver.gap_pipeline import greedy_gap, highs_gap, solve_gap
from solver import solve
from solver.gap import GapInstance, gap_assignment, gap_to_problem

METHODS = ("ours", "general", "highs", "greedy")


def run_method(method: str, inst: GapInstance, time_limit: float, workers: int) -> dict[str, Any]:
    """Solve ``inst`` with one method; objective, status and wall time."""
    t0 = time.perf_counter()
    if method == "ours":
        res = solve_gap(inst, time_limit_s=time_limit, workers=workers)
        obj, status, bound = res.objective, res.status, res.bound
        feasible = res.objective is not None and inst.is_feasible(res.assignment)
    elif method == "general":
        # The consortium solver on the GAP read as a Problem (as `machikoba solve --orlib-gap` does).
        problem = gap_to_problem(inst)
        sol = solve(problem, time_limit_s=time_limit, workers=workers)
        assignment = gap_assignment(problem, sol) if sol.objective is not None else None
        obj = None if assignment is None else inst.cost_of(assignment)
        status, bound = sol.status, sol.bound
        feasible = assignment is not None and inst.is_feasible(assignment)
    elif method == "highs":
        res = highs_gap(inst, time_limit_s=time_limit, threads=workers)
        obj, status, bound = res.objective, res.status, res.bound
        feasible = res.objective is not None and inst.is_feasible(res.assignment)
    else:
        g = greedy_gap(inst)
        obj = None if g is None else inst.cost_of(g)
        status, bound = ("feasible" if g is not None else "unknown"), None
        feasible = g is not None and inst.is_feasible(g)
    wall = time.perf_counter() - t0
    return {
        "objective": obj,
        "status": status,
        "bound": bound,
        "feasible": feasible,
        "wall_s": round(wall, 3),
    }


def gap_pct(obj: int | None, ref: int) -> float | None:
    """Percentage above the reference value (``None`` without a solution)."""
    return None if obj is None else round(100.0 * (obj - ref) / ref, 4)


def main() -> None:
    """Run the side-by-side benchmark and write JSON + markdown results."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--time-limit", type=float, default=10.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--sets", default="".join(SETS))
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--out", default="gap_chu_e")
    args = ap.parse_args()
    gap_data()  # fail early, in one line, when the instances are missing
    methods = [m for m in args.methods.split(",") if m]
    machine = machine_info()
    rows: list[dict[str, Any]] = []
    for s in args.sets:
        for size in SIZES:
            name = f"{s}{size}"
            inst = load_named(name)
            ref = reference()[name]
            row: dict[str, Any] = {
                "instance": name,
                "agents": inst.agents,
                "jobs": inst.jobs,
                "reference": ref,
            }
            for method in methods:
                r = run_method(method, inst, args.time_limit, args.workers)
                r["gap_pct"] = gap_pct(r["objective"], ref)
                row[method] = r
            rows.append(row)
            print(
                f"{name:8s} ref={ref:6d} "
                + " ".join(
                    f"{m}={row[m]['objective']}({row[m]['gap_pct']}%,{row[m]['wall_s']:.1f}s)"
                    for m in methods
                ),
                flush=True,
            )
    summary: dict[str, Any] = {}
    for s in args.sets:
        srows = [r for r in rows if r["instance"].startswith(s)]
        summary[s.upper()] = {
            m: round(
                statistics.fmean(
                    [r[m]["gap_pct"] if r[m]["gap_pct"] is not None else float("nan") for r in srows]
                ),
                4,
            )
            for m in methods
        }
    worse = []
    for ours in ("ours", "general"):
        if ours in methods and "highs" in methods:
            for r in rows:
                o, h = r[ours]["objective"], r["highs"]["objective"]
                if h is not None and (o is None or o > h):
                    worse.append({"method": ours, "instance": r["instance"], "ours": o, "highs": h})
    machine["loadavg_end"] = machine_info()["loadavg"]
    print(json.dumps({"mean_gap_pct": summary, "ours_worse_than_highs": worse}))
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": "Chu-Beasley A-D + Yagiura E, minimisation, gap % to best known (fontanf data.csv)",
        "time_limit_s": args.time_limit,
        "workers": args.workers,
        "machine": machine,
        "mean_gap_pct": summary,
        "ours_worse_than_highs": worse,
        "instances": rows,
    }
    (RESULTS / f"{args.out}.json").write_text(json.dumps(payload, indent=1) + "\n")
    lines = [
        "# GAP benchmark (2): A-D (Chu & Beasley) and E (Yagiura), side by side",
        "",
        machine_markdown(machine) + f" (load at end {machine['loadavg_end']})",
        "",
        f"Time limit {args.time_limit} s per instance and method, {args.workers} threads. "
        "Gap % is relative to the best known value (`reference/fontanf_data.csv`; optimal except d20200). "
        "ours = `solve_gap` (CP-SAT pipeline), general = `solver.solve(gap_to_problem(...))` (the consortium "
        "solver, as `machikoba solve --orlib-gap`), highs = `highs_gap` (same MIP, HiGHS), "
        "greedy = `greedy_gap`.",
        "",
        "## Mean gap % per set",
        "",
        "| set | " + " | ".join(methods) + " |",
        "|---|" + "---|" * len(methods),
    ]
    for s, vals in summary.items():
        lines.append(f"| {s} | " + " | ".join(f"{vals[m]:.3f}" for m in methods) + " |")
    lines += [
        "",
        "Instances where a CP-SAT method is worse than HiGHS: "
        + (
            ", ".join(f"{w['method']} {w['instance']} ({w['ours']} vs {w['highs']})" for w in worse) or "none"
        ),
        "",
        "## Per instance",
        "",
        "| instance | m x n | reference | "
        + " | ".join(f"{m} obj | {m} gap % | {m} s" for m in methods)
        + " |",
        "|---|---|---|" + "---|---|---|" * len(methods),
    ]
    for r in rows:
        cells = []
        for m in methods:
            x = r[m]
            gp = "-" if x["gap_pct"] is None else f"{x['gap_pct']:.3f}"
            cells.append(f"{x['objective']} | {gp} | {x['wall_s']:.2f}")
        lines.append(
            f"| {r['instance']} | {r['agents']}x{r['jobs']} | {r['reference']} | " + " | ".join(cells) + " |"
        )
    (RESULTS / f"{args.out}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
