"""Benchmark (1): OR-Library gap1-gap12 (60 instances) as minimisation with ``solve_gap``.

Run: ``.venv/bin/python -m bench.solver.gap_orlib [--time-limit 10] [--workers 2]``. Prints one line per
instance and a summary; writes ``bench/results/gap_orlib.json`` and ``gap_orlib.md``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from bench.solver.gap_common import ORLIB_OPTIMA, RESULTS, gap_data, machine_info, machine_markdown
from bench.solver.gap_pipeline import solve_gap
from solver.gap import read_gap_file


def main() -> None:
    """Solve the 60 instances, check objectives against the known optima, write the results."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--time-limit", type=float, default=10.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default="gap_orlib")
    args = ap.parse_args()
    gap_data()  # fail early, in one line, when the instances are missing
    machine = machine_info()
    rows: list[dict[str, Any]] = []
    for f in range(1, 13):
        for k in range(1, 6):
            inst = read_gap_file(gap_data() / "orlib" / f"gap{f}.txt", k)
            t0 = time.perf_counter()
            res = solve_gap(inst, time_limit_s=args.time_limit, workers=args.workers)
            wall = time.perf_counter() - t0
            opt = ORLIB_OPTIMA[f][k - 1]
            ok = res.objective == opt and inst.is_feasible(res.assignment)
            rows.append(
                {
                    "instance": f"gap{f}-{k}",
                    "agents": inst.agents,
                    "jobs": inst.jobs,
                    "status": res.status,
                    "objective": res.objective,
                    "optimum": opt,
                    "matches_optimum": ok,
                    "wall_s": round(wall, 4),
                }
            )
            print(
                f"gap{f}-{k:<3d} {inst.agents:3d}x{inst.jobs:<3d} {res.status:9s} obj={res.objective} "
                f"opt={opt} {'ok' if ok else 'MISMATCH'} {wall:.3f}s",
                flush=True,
            )
    times = [float(r["wall_s"]) for r in rows]
    summary = {
        "instances": len(rows),
        "proven_optimal": sum(r["status"] == "optimal" for r in rows),
        "matches_optimum": sum(bool(r["matches_optimum"]) for r in rows),
        "median_s": round(statistics.median(times), 4),
        "mean_s": round(statistics.fmean(times), 4),
        "max_s": round(max(times), 4),
        "total_s": round(sum(times), 2),
    }
    machine["loadavg_end"] = machine_info()["loadavg"]
    print(json.dumps(summary))
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": "OR-Library gap1-12, minimisation",
        "time_limit_s": args.time_limit,
        "workers": args.workers,
        "machine": machine,
        "summary": summary,
        "instances": rows,
    }
    (RESULTS / f"{args.out}.json").write_text(json.dumps(payload, indent=1) + "\n")
    lines = [
        "# GAP benchmark (1): OR-Library gap1-gap12, minimisation",
        "",
        machine_markdown(machine) + f" (load at end {machine['loadavg_end']})",
        "",
        f"`solve_gap`, time limit {args.time_limit} s, {args.workers} workers. "
        f"Proven optimal **{summary['proven_optimal']}/{summary['instances']}**, objective = known optimum "
        f"{summary['matches_optimum']}/{summary['instances']}; time per instance median "
        f"**{summary['median_s']:.3f} s**, mean {summary['mean_s']:.3f} s, max {summary['max_s']:.3f} s.",
        "",
        "| instance | m x n | status | objective | optimum | wall s |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['instance']} | {r['agents']}x{r['jobs']} | {r['status']} | {r['objective']} | "
            f"{r['optimum']} | {r['wall_s']:.3f} |"
        )
    (RESULTS / f"{args.out}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
