"""Integration check: the general consortium solver (``solver.solve``) on GAP instances vs ``solve_gap``.

Run: ``.venv/bin/python -m bench.solver.gap_consortium [--time-limit 10] [--hard d10100,...]``.
For gap1-12 (60 instances, minimisation) and hard D/E instances, ``solver.solve(gap_to_problem(inst))`` is run
with default settings (``general``; optionally ``general_hint``: a ``solve_gap``-greedy hint,
``general_nopr``: no candidate pruning) and compared with ``solve_gap`` and HiGHS (``highs_gap``),
all in one run, 2 workers.
Writes ``bench/results/gap_consortium.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from bench.solver.gap_common import (
    ORLIB_OPTIMA,
    RESULTS,
    gap_data,
    load_named,
    machine_info,
    machine_markdown,
    reference,
)
from bench.solver.gap_pipeline import greedy_gap, highs_gap, solve_gap
from solver import solve
from solver.gap import GapInstance, gap_assignment, gap_hint, gap_to_problem

VARIANTS = ("general", "general_hint", "general_nopr")
HARD = "d10100,d20100,d20200,e10100,e10200,e20100,e20200"


def run_general(inst: GapInstance, variant: str, time_limit: float) -> dict[str, Any]:
    """``solver.solve`` on the GAP as a consortium problem; objective re-checked via ``gap_assignment``."""
    problem = gap_to_problem(inst)
    kwargs: dict[str, Any] = {"time_limit_s": time_limit, "workers": 2}
    if variant == "general_hint":
        g = greedy_gap(inst)
        if g is not None:
            kwargs["hint"] = gap_hint(problem, g)
    if variant == "general_nopr":
        kwargs["candidates_per_package"] = None
    t0 = time.perf_counter()
    sol = solve(problem, **kwargs)
    wall = time.perf_counter() - t0
    assign = gap_assignment(problem, sol)
    ok = bool(assign) and inst.is_feasible(assign)
    obj = inst.cost_of(assign) if ok else None
    if obj is not None and sol.objective is not None and round(sol.objective) != obj:
        raise AssertionError(f"{inst.name}: consortium objective {sol.objective} != GAP cost {obj}")
    return {"objective": obj, "status": sol.status, "pruned": sol.pruned, "wall_s": round(wall, 3)}


def main() -> None:
    """Compare on gap1-12 and the hard instances; write the results."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--time-limit", type=float, default=10.0)
    ap.add_argument("--hard", default=HARD)
    ap.add_argument("--variants", default="general")
    ap.add_argument("--highs-orlib", action="store_true", help="also run HiGHS on gap1-12")
    ap.add_argument("--orlib", default="1-12", help="range of gapK files, e.g. 1-12 or 12-12 ('' to skip)")
    ap.add_argument("--out", default="gap_consortium")
    args = ap.parse_args()
    gap_data()  # fail early, in one line, when the instances are missing
    variants = [v for v in args.variants.split(",") if v]
    machine = machine_info()
    names: list[tuple[str, int]] = []
    if args.orlib:
        lo, hi = (int(x) for x in args.orlib.split("-"))
        names += [(f"gap{f}-{k}", ORLIB_OPTIMA[f][k - 1]) for f in range(lo, hi + 1) for k in range(1, 6)]
    names += [(h, reference()[h]) for h in args.hard.split(",") if h]
    rows: list[dict[str, Any]] = []
    for name, ref in names:
        inst = load_named(name)
        t0 = time.perf_counter()
        ours = solve_gap(inst, time_limit_s=args.time_limit, workers=2)
        row: dict[str, Any] = {
            "instance": name,
            "reference": ref,
            "solve_gap": {
                "objective": ours.objective,
                "status": ours.status,
                "wall_s": round(time.perf_counter() - t0, 3),
            },
        }
        for v in variants:
            row[v] = run_general(inst, v, args.time_limit)
        if args.highs_orlib or not name.startswith("gap"):
            t0 = time.perf_counter()
            hres = highs_gap(inst, time_limit_s=args.time_limit, threads=2)
            row["highs"] = {
                "objective": hres.objective,
                "status": hres.status,
                "wall_s": round(time.perf_counter() - t0, 3),
            }
        rows.append(row)
        print(
            f"{name:9s} ref={ref:6d} "
            + " ".join(
                f"{k}={row[k]['objective']}/{row[k]['status'][:3]}/{row[k]['wall_s']:.2f}s"
                for k in ("solve_gap", *variants, "highs")
                if k in row
            ),
            flush=True,
        )
    summary: dict[str, Any] = {}
    methods = [k for k in ("solve_gap", *variants, "highs") if any(k in r for r in rows)]
    for k in methods:
        orl = [r for r in rows if r["instance"].startswith("gap") and k in r]
        hard = [r for r in rows if not r["instance"].startswith("gap") and k in r]
        gaps = [
            100 * (r[k]["objective"] - r["reference"]) / r["reference"] for r in hard if r[k]["objective"]
        ]
        summary[k] = {
            "hard_mean_gap_pct": round(statistics.mean(gaps), 3) if gaps else None,
            "orlib_reach_optimum": sum(r[k]["objective"] == r["reference"] for r in orl) if orl else None,
            "orlib_proven_optimal": sum(r[k]["status"] == "optimal" for r in orl) if orl else None,
            "orlib_median_s": round(statistics.median([r[k]["wall_s"] for r in orl]), 3) if orl else None,
            "orlib_max_s": round(max([r[k]["wall_s"] for r in orl]), 3) if orl else None,
            "hard_gap_pct": {
                r["instance"]: None
                if r[k]["objective"] is None
                else round(100 * (r[k]["objective"] - r["reference"]) / r["reference"], 3)
                for r in hard
            },
        }
    machine["loadavg_end"] = machine_info()["loadavg"]
    print(json.dumps(summary, indent=1))
    payload = {"time_limit_s": args.time_limit, "machine": machine, "summary": summary, "instances": rows}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(payload, indent=1) + "\n")
    lines = [
        "# GAP through the general consortium solver",
        "",
        machine_markdown(machine) + f" (load at end {machine['loadavg_end']})",
        "",
        f"`solver.solve(gap_to_problem(inst))`, time limit {args.time_limit} s, 2 workers, vs `solve_gap`. "
        "general = defaults; general_hint = hint from `greedy_gap`; general_nopr = "
        "`candidates_per_package=None`; highs = `highs_gap` (HiGHS MIP, 2 threads). Gap % vs best known.",
        "",
        "| method | gap1-12 objective = optimum | proven optimal | median s | max s | "
        + " | ".join(f"{h} gap %" for h in args.hard.split(",") if h)
        + " | mean gap % |",
        "|---|---|---|---|---|" + "---|" * (1 + len([h for h in args.hard.split(",") if h])),
    ]
    for k, s in summary.items():
        lines.append(
            f"| {k} | {s['orlib_reach_optimum']} | {s['orlib_proven_optimal']} | {s['orlib_median_s']} | "
            f"{s['orlib_max_s']} | "
            + " | ".join(str(v) for v in s["hard_gap_pct"].values())
            + f" | {s['hard_mean_gap_pct']} |"
        )
    lines += [
        "",
        "## Per instance (objective / status / wall s)",
        "",
        "| instance | reference | " + " | ".join(methods) + " |",
        "|---|---|" + "---|" * len(methods),
    ]
    for r in rows:
        lines.append(
            f"| {r['instance']} | {r['reference']} | "
            + " | ".join(
                f"{r[k]['objective']} / {r[k]['status']} / {r[k]['wall_s']:.2f}" if k in r else "–"
                for k in methods
            )
            + " |"
        )
    (RESULTS / f"{args.out}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
