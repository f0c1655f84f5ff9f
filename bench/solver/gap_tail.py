"""The GAP tail (issue 10 §6): the general solver against HiGHS on held-out D/E instances, same limit.

Each instance is solved by ``solver.solve(gap_to_problem(inst))`` (``general``, as ``machikoba solve
--orlib-gap``) and by highspy on the plain MIP (``highs``, :func:`bench.solver.gap_pipeline.highs_gap`),
with the same time limit and 2 threads, one after the other in one process; the order of the runs turns
with each instance, so that a burst of load on the shared machine favours no one. The ratio to HiGHS's
objective is reported (the goal: never worse than HiGHS in the same run), and the CPU seconds each run got
(process, and HiGHS's thread inside the general solver), since with the machine shared the CPU a run gets
varies more than the wall time it is given.

Variants of the general solver in the same run: ``--exchange`` (HiGHS beside the kernel takes the greedy
start and CP-SAT's incumbents, :data:`solver.highs.TAKES_INCUMBENTS`; without them, as shipped, its path is
HiGHS alone's), ``--nice0`` (CP-SAT's workers at HiGHS's priority, as before), ``--cpsat-alone`` (no HiGHS
beside the kernel). Which HiGHS was the default changed twice: in ``gap_tail_yield_1/2`` and from
``gap_tail_exchange_*`` on, ``general`` is the isolated HiGHS; in ``gap_tail_yield_3``, ``gap_tail_quiet*``
and ``gap_tail_iso_try`` it is the exchanging one (their ``isolated`` column is today's ``general``).

    .venv/bin/python -m bench.solver.gap_tail [--time-limit 10] [--instances d10100,...]
        [--exchange] [--nice0] [--cpsat-alone] [--out gap_tail]

Results: ``gap_tail_polish_experiment.{json,md}`` the run of commit 3e8fad1 (a highspy MIP polish of the
kernel's last phase, dropped); ``gap_tail.{json,md}`` the run before the portfolio;
``gap_tail_portfolio.{json,md}`` the portfolio with incumbents exchanged; ``gap_tail_yield_*.{json,md}``
the runs with HiGHS given the plain MIP and the CPU (docs/decisions.md, "The GAP tail").
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
from collections.abc import Callable
from typing import Any

from bench.solver.gap_common import RESULTS, gap_data, load_named, machine_info, machine_markdown, reference
from bench.solver.gap_pipeline import highs_gap
from solver import highs, kernel, solve
from solver.gap import GapInstance, gap_assignment, gap_to_problem

HELD_OUT = "d10100,d10200,d20100,d20200,e10100,e10200,e20100,e20200"


def _cpu() -> float:
    """CPU seconds of this process so far (all its threads)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def general(
    inst: GapInstance,
    time_limit: float,
    *,
    portfolio: bool = True,
    nice: int | None = None,
    takes_incumbents: bool | None = None,
) -> tuple[int | None, dict[str, float | None]]:
    """The general solver's GAP cost (re-checked on the instance) and the CPU it got: ``cpu_s`` for the
    process, ``highs_cpu_s`` for HiGHS's thread beside the kernel. ``portfolio=False``: without HiGHS
    beside the kernel (CP-SAT alone, as before ``solver/highs.py``); ``nice``: the kernel's
    :data:`solver.kernel.YIELD_NICE` for this run (0: CP-SAT's workers at HiGHS's priority, as before)."""
    problem = gap_to_problem(inst)
    real_start, real_nice = highs.start, kernel.YIELD_NICE
    runs: list[highs.HighsRun] = []

    def spy(*args: Any, **kwargs: Any) -> highs.HighsRun | None:
        run = real_start(*args, **kwargs) if portfolio else None
        if run is not None:
            runs.append(run)
        return run

    highs.start = spy
    real_takes = highs.TAKES_INCUMBENTS
    if takes_incumbents is not None:
        highs.TAKES_INCUMBENTS = takes_incumbents
    if nice is not None:
        kernel.YIELD_NICE = nice
    cpu0 = _cpu()
    try:
        sol = solve(problem, time_limit_s=time_limit, workers=2)
    finally:
        highs.start, kernel.YIELD_NICE = real_start, real_nice
        highs.TAKES_INCUMBENTS = real_takes
    cpu = {"cpu_s": round(_cpu() - cpu0, 2), "highs_cpu_s": None, "highs_wall_s": None}
    if runs and runs[0].cpu_s is not None and runs[0].wall_s is not None:
        cpu["highs_cpu_s"] = round(runs[0].cpu_s, 2)
        cpu["highs_wall_s"] = round(runs[0].wall_s, 2)
    assign = gap_assignment(problem, sol)
    return (inst.cost_of(assign) if assign and inst.is_feasible(assign) else None), cpu


def peer(inst: GapInstance, time_limit: float) -> tuple[int | None, dict[str, float | None]]:
    """HiGHS alone on the plain MIP (2 threads) and the CPU the process got meanwhile."""
    cpu0 = _cpu()
    objective = highs_gap(inst, time_limit_s=time_limit, threads=2).objective
    return objective, {"cpu_s": round(_cpu() - cpu0, 2)}


def _cpu_cell(row: dict[str, Any], key: str) -> str:
    cpu = row[f"{key}_cpu"]
    inner = f" ({cpu['highs_cpu_s']})" if cpu.get("highs_cpu_s") is not None else ""
    return f"{cpu['cpu_s']}{inner}; load {row[f'{key}_load1']}"


def main() -> None:
    """Run the comparison and write the results."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--time-limit", type=float, default=10.0)
    ap.add_argument("--instances", default=HELD_OUT)
    ap.add_argument("--out", default="gap_tail")
    ap.add_argument(
        "--cpsat-alone", action="store_true", help="also the general solver without HiGHS beside the kernel"
    )
    ap.add_argument(
        "--nice0",
        action="store_true",
        help="also the general solver with CP-SAT's workers at HiGHS's priority (YIELD_NICE = 0, as before)",
    )
    ap.add_argument(
        "--exchange",
        action="store_true",
        help="also the general solver whose HiGHS takes the greedy start and CP-SAT's incumbents",
    )
    args = ap.parse_args()
    variants: dict[str, Callable[[GapInstance], tuple[int | None, dict[str, float | None]]]] = {
        "highs": lambda inst: peer(inst, args.time_limit),
        "general": lambda inst: general(inst, args.time_limit),
    }
    if args.nice0:
        variants["nice0"] = lambda inst: general(inst, args.time_limit, nice=0)
    if args.exchange:
        variants["exchange"] = lambda inst: general(inst, args.time_limit, takes_incumbents=True)
    if args.cpsat_alone:
        variants["cpsat_alone"] = lambda inst: general(inst, args.time_limit, portfolio=False)
    keys = tuple(k for k in variants if k != "highs")
    gap_data()  # fail early, in one line, when the instances are missing
    start = machine_info()
    rows: list[dict[str, Any]] = []
    for i, name in enumerate(args.instances.split(",")):
        inst = load_named(name)
        row: dict[str, Any] = {"instance": name, "reference": reference()[name]}
        # interleaved, and the order turns each instance, so that a burst of load favours no one
        order = list(variants)
        order = order[i % len(order) :] + order[: i % len(order)]
        for key in order:
            row[key], row[f"{key}_cpu"] = variants[key](inst)
            row[f"{key}_load1"] = round(os.getloadavg()[0], 2)
        highs_obj = row["highs"]
        for key in keys:
            value = row[key]
            row[f"{key}_ratio"] = None if value is None or not highs_obj else round(value / highs_obj, 5)
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
        "CPU seconds each run got (process; in brackets HiGHS's thread beside the kernel) and the 1-minute "
        "load average after it:",
        "",
        "| instance | HiGHS | " + " | ".join(keys) + " |",
        "|---|---|" + "---|" * len(keys),
    ]
    lines += [
        f"| {r['instance']} | {_cpu_cell(r, 'highs')} | " + " | ".join(_cpu_cell(r, k) for k in keys) + " |"
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
