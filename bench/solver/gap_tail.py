"""The GAP tail (issue 10 §6): the general solver against HiGHS on held-out D/E instances, same limit.

Each instance is solved by ``solver.solve(gap_to_problem(inst))`` (``general``, as ``machikoba solve
--orlib-gap``) and by highspy on the plain MIP (``highs``, :func:`bench.solver.gap_pipeline.highs_gap`),
with the same time limit and 2 threads. The ratio to HiGHS's objective is reported; the goal is never worse
than HiGHS in the same run. ``gap_tail_polish_experiment.{json,md}`` hold the run of commit 3e8fad1, where a
highspy MIP polish of the kernel's last phase was tried and dropped; ``gap_tail.{json,md}`` the run before
the kernel got HiGHS as a portfolio member (``solver/highs.py``), ``gap_tail_portfolio.{json,md}`` the runs
with it (docs/decisions.md, "The GAP tail").

    .venv/bin/python -m bench.solver.gap_tail [--time-limit 10] [--instances d10100,...] [--cpsat-alone]

``general`` is the solver as shipped (HiGHS beside the kernel search); ``--cpsat-alone`` adds the same
solver without it, in the same run.

Writes ``bench/results/gap_tail.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import statistics
from typing import Any

from bench.solver.gap_common import RESULTS, gap_data, load_named, machine_info, machine_markdown, reference
from bench.solver.gap_pipeline import highs_gap
from solver import highs, solve
from solver.gap import GapInstance, gap_assignment, gap_to_problem

HELD_OUT = "d10100,d10200,d20100,d20200,e10100,e10200,e20100,e20200"


def general(inst: GapInstance, time_limit: float, *, portfolio: bool = True) -> int | None:
    """The general solver's GAP cost (re-checked on the instance); ``portfolio=False``: without HiGHS
    beside the kernel (CP-SAT alone, as before ``solver/highs.py``)."""
    problem = gap_to_problem(inst)
    real_start = highs.start
    if not portfolio:
        highs.start = lambda *args, **kwargs: None
    try:
        sol = solve(problem, time_limit_s=time_limit, workers=2)
    finally:
        highs.start = real_start
    assign = gap_assignment(problem, sol)
    return inst.cost_of(assign) if assign and inst.is_feasible(assign) else None


def main() -> None:
    """Run the comparison and write the results."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--time-limit", type=float, default=10.0)
    ap.add_argument("--instances", default=HELD_OUT)
    ap.add_argument("--out", default="gap_tail")
    ap.add_argument(
        "--cpsat-alone", action="store_true", help="also the general solver without HiGHS beside the kernel"
    )
    args = ap.parse_args()
    keys = ("general", "cpsat_alone") if args.cpsat_alone else ("general",)
    gap_data()  # fail early, in one line, when the instances are missing
    start = machine_info()
    rows: list[dict[str, Any]] = []
    for name in args.instances.split(","):
        inst = load_named(name)
        highs = highs_gap(inst, time_limit_s=args.time_limit, threads=2).objective
        row: dict[str, Any] = {
            "instance": name,
            "reference": reference()[name],
            "highs": highs,
            "general": general(inst, args.time_limit),
        }
        if args.cpsat_alone:
            row["cpsat_alone"] = general(inst, args.time_limit, portfolio=False)
        for key in keys:
            value = row[key]
            row[f"{key}_ratio"] = None if value is None or not highs else round(value / highs, 5)
        rows.append(row)
        print(json.dumps(row), flush=True)
    end = machine_info()
    summary = {}
    for key in keys:
        ratios = [r[f"{key}_ratio"] for r in rows if r[f"{key}_ratio"] is not None]
        summary[key] = {
            "mean_ratio": round(statistics.mean(ratios), 5) if ratios else None,
            "worst_ratio": max(ratios, default=None),
            "worse_than_highs": sum(1 for x in ratios if x > 1),
        }
    doc = {"machine_start": start, "machine_end": end, "time_limit_s": args.time_limit, "summary": summary}
    doc["rows"] = rows
    (RESULTS / f"{args.out}.json").write_text(json.dumps(doc, indent=1) + "\n")
    lines = [
        f"# GAP tail: general solver vs HiGHS, {args.time_limit:.0f} s, 2 threads each",
        "",
        f"Start: {machine_markdown(start)}",
        f"End: load average {end['loadavg']}; {end['date']}.",
        "",
        "| instance | best known | HiGHS | " + " | ".join(f"{k} | {k} ratio" for k in keys) + " |",
        "|---|---|---|" + "---|---|" * len(keys),
    ]
    lines += [
        f"| {r['instance']} | {r['reference']} | {r['highs']} | "
        + " | ".join(f"{r[k]} | {r[f'{k}_ratio']}" for k in keys)
        + " |"
        for r in rows
    ]
    lines += [
        "",
        "| variant | mean ratio to HiGHS | worst | instances worse than HiGHS |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {k} | {v['mean_ratio']} | {v['worst_ratio']} | {v['worse_than_highs']} of {len(rows)} |"
        for k, v in summary.items()
    ]
    (RESULTS / f"{args.out}.md").write_text("\n".join(lines) + "\n")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
