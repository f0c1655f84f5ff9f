"""Benchmark 3: generated consortium RFQs (``solver.generate``, seeded).

For each size (factories × packages): eligibility and model build time (measured separately), model size,
time to the first feasible solution, objective at 10 s and 30 s (separate runs), the bound, peak memory
(``ru_maxrss`` of a fresh subprocess per run), and the gap against

* the proven bound (of the pruned model, when pruned), and
* the reference: the best objective any configuration found on the same instance, over the long runs
  recorded in ``bench/results/consortium_reference.json`` (``--reference-minutes``) and every run here.

    .venv/bin/python -m bench.solver.consortium [--sizes 50x20,500x100,2000x200] [--limits 10,30]
        [--reference-minutes N] [--reference-config default|all_pairs|wide] [--workers 2] [--seed 0]
        [--rerender]

Writes ``bench/results/consortium_benchmark.{json,md}`` and prints the table. A reference run
(``--reference-minutes N``) is one ``solve`` of N minutes per size with the named configuration; its
trajectory is appended to ``consortium_reference.json`` (kept across runs, the best per instance wins).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parents[1] / "results"
REFERENCE_FILE = RESULTS / "consortium_reference.json"
CONFIGS: dict[str, dict[str, Any]] = {
    "default": {"candidates_per_package": 12},  # the solver's defaults
    "all_pairs": {"candidates_per_package": None},  # no pruning: every eligible pair
    "wide": {"candidates_per_package": 24},
}


# ------------------------------------------------------------------------------------------ machine


def machine_info() -> dict[str, Any]:
    """CPU model, cores, load average, Python and OR-Tools versions, date."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        ortools = metadata.version("ortools")
    except metadata.PackageNotFoundError:
        ortools = "unknown"
    return {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "ortools": ortools,
        "platform": platform.platform(),
    }


# ------------------------------------------------------------------------------------- child process


def _child(spec: dict[str, Any]) -> dict[str, Any]:
    """One measured run in a fresh process (so ``ru_maxrss`` is this run's peak)."""
    from solver import solve, verify
    from solver.eligibility import analyse
    from solver.generate import generate_problem
    from solver.model import build_model

    factories, packages, seed = spec["factories"], spec["packages"], spec["seed"]
    problem = generate_problem(factories, packages, seed)
    out: dict[str, Any] = {"instance": problem.name}
    if spec.get("build", False):
        times_e, times_b = [], []
        for _ in range(spec.get("build_repeats", 3)):
            fresh = generate_problem(factories, packages, seed)  # no cached indexes
            t0 = time.perf_counter()
            elig = analyse(fresh, spec.get("candidates_per_package", 12))
            t1 = time.perf_counter()
            built = build_model(fresh, elig.candidates)
            t2 = time.perf_counter()
            times_e.append(t1 - t0)
            times_b.append(t2 - t1)
        out.update(
            eligibility_s=round(min(times_e), 3),
            build_s=round(min(times_b), 3),
            eligibility_s_all=[round(x, 3) for x in times_e],
            build_s_all=[round(x, 3) for x in times_b],
            eligible_pairs=elig.eligible_pairs,
            candidate_pairs=elig.candidate_pairs,
            variables=len(built.model.proto.variables),
            constraints=len(built.model.proto.constraints),
        )
        del built
    limit = spec.get("limit")
    if limit:
        trajectory: list[tuple[float, float, float]] = []
        kwargs = CONFIGS[spec.get("config", "default")]
        t0 = time.perf_counter()
        sol = solve(
            problem,
            time_limit_s=limit,
            workers=spec["workers"],
            seed=seed,
            on_progress=lambda p: trajectory.append((round(p.elapsed_s, 3), p.objective, p.bound)),
            **kwargs,
        )
        wall = time.perf_counter() - t0
        violations = verify(problem, sol)
        out.update(
            limit_s=limit,
            config=spec.get("config", "default"),
            status=sol.status,
            objective=sol.objective,
            bound=sol.bound,
            first_solution_s=None if sol.first_solution_s is None else round(sol.first_solution_s, 3),
            wall_s=round(wall, 2),
            members=len(sol.members),
            assignments=len(sol.assignments),
            pruned=sol.pruned,
            verified=not violations,
            violations=violations[:3],
            trajectory=trajectory,
        )
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


def _run_child(spec: dict[str, Any]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.solver.consortium", "--child", json.dumps(spec)],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    if proc.returncode != 0:
        raise RuntimeError(f"child failed: {proc.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


# ------------------------------------------------------------------------------------------ reports


def _load_references() -> list[dict[str, Any]]:
    if REFERENCE_FILE.exists():
        data: list[dict[str, Any]] = json.loads(REFERENCE_FILE.read_text())
        return data
    return []


def _gap(objective: float | None, reference: float | None) -> float | None:
    if objective is None or reference is None or objective == 0:
        return None
    return round(100 * (objective - reference) / abs(objective), 2)


def _apply_reference(row: dict[str, Any], limits: list[float]) -> None:
    """Set the row's reference (best verified objective of any run on the instance) and its gaps."""
    refs = [r for r in _load_references() if r["instance"] == row["instance"] and r["verified"]]
    candidates = [(r["objective"], f"{r['config']} {r['limit_s']:.0f} s") for r in refs]
    candidates += [(row[f"objective_{lim:g}"], f"this run {lim:g} s") for lim in limits]
    candidates = [c for c in candidates if c[0] is not None]
    if candidates:
        row["reference"], row["reference_source"] = min(candidates)
    for lim in limits:
        row[f"gap_reference_{lim:g}_pct"] = _gap(row[f"objective_{lim:g}"], row.get("reference"))


def _rerender(out: str) -> None:
    """Recompute references and gaps of a stored report (after new reference runs) and rewrite it."""
    report: dict[str, Any] = json.loads(Path(out + ".json").read_text())
    for row in report["rows"]:
        _apply_reference(row, report["limits"])
    instances = {r["instance"] for r in report["rows"]}
    report["references"] = [
        {k: v for k, v in r.items() if k != "trajectory"}
        for r in _load_references()
        if r["instance"] in instances
    ]
    Path(out + ".json").write_text(json.dumps(report, indent=1) + "\n")
    Path(out + ".md").write_text(_markdown(report))
    print(_markdown(report))


def _markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        "# Benchmark 3: generated consortium RFQs",
        "",
        f"{m['date']} · {m['cpu']} · {m['cores']} cores · load average {m['load_average']} at the start, "
        f"{report['load_average_end']} at the end · Python {m['python']} · OR-Tools {m['ortools']} · "
        f"workers {report['workers']} · seed {report['seed']}",
        "",
        "Eligibility and build: best of three in one process (wall). First feasible: from the call of "
        "`solve` (eligibility and build included). Objective at 10 s / 30 s: separate `solve` runs with "
        "that time limit. Gap vs bound: (objective − bound) / objective, bound of the model solved "
        "(the candidate pairs when pruned). Reference: the best objective any configuration found on the "
        "instance (long reference runs and every run here). Peak RSS: the largest of the runs' processes.",
        "",
        "| instance | eligible / candidate pairs | vars / constraints | eligibility s | build s | "
        "first feasible s | objective 10 s | objective 30 s | bound | gap vs bound (30 s) | reference | "
        "gap vs reference 10 s / 30 s | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["rows"]:
        lines.append(
            f"| {r['instance']} | {r['eligible_pairs']:,} / {r['candidate_pairs']:,} | "
            f"{r['variables']:,} / {r['constraints']:,} | {r['eligibility_s']} | {r['build_s']} | "
            f"{r['first_solution_s']} | {_fmt(r.get('objective_10'))} | {_fmt(r.get('objective_30'))} | "
            f"{_fmt(r.get('bound'))} | {r.get('gap_bound_pct')} % | {_fmt(r.get('reference'))} "
            f"({r.get('reference_source')}) | {r.get('gap_reference_10_pct')} % / "
            f"{r.get('gap_reference_30_pct')} % | {r['peak_rss_mb']} |"
        )
    lines += ["", "Reference runs:", ""]
    for ref in report["references"]:
        lines.append(
            f"* {ref['instance']}: config `{ref['config']}`, {ref['limit_s']:.0f} s, "
            f"{ref.get('workers', '?')} worker(s), objective "
            f"{_fmt(ref['objective'])}, bound {_fmt(ref['bound'])} "
            f"({ref['date']}, load {ref['load_average']})"
        )
    return "\n".join(lines) + "\n"


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:,.0f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--sizes", default="50x20,500x100,2000x200")
    parser.add_argument("--limits", default="10,30")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--reference-minutes", type=float, default=0.0)
    parser.add_argument("--reference-config", default="default", choices=sorted(CONFIGS))
    parser.add_argument("--out", default=str(RESULTS / "consortium_benchmark"))
    parser.add_argument("--rerender", action="store_true", help="only recompute gaps of the stored report")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(json.loads(args.child))))
        return
    if args.rerender:
        _rerender(args.out)
        return
    sizes = [tuple(int(x) for x in s.split("x")) for s in args.sizes.split(",") if s]
    limits = [float(x) for x in args.limits.split(",") if x]
    machine = machine_info()
    if args.reference_minutes > 0:
        for factories, packages in sizes:
            spec = {
                "factories": factories,
                "packages": packages,
                "seed": args.seed,
                "workers": args.workers,
                "limit": 60 * args.reference_minutes,
                "config": args.reference_config,
            }
            res = _run_child(spec)
            refs = _load_references()
            refs.append(
                {
                    "instance": res["instance"],
                    "config": args.reference_config,
                    "limit_s": res["limit_s"],
                    "objective": res["objective"],
                    "bound": res["bound"],
                    "verified": res["verified"],
                    "workers": args.workers,
                    "date": machine["date"],
                    "load_average": machine["load_average"],
                    "trajectory": res["trajectory"],
                }
            )
            REFERENCE_FILE.write_text(json.dumps(refs, indent=1) + "\n")
            print(f"reference {res['instance']}: {res['objective']:,.0f} (bound {res['bound']:,.0f})")
        if not limits:
            return
    rows: list[dict[str, Any]] = []
    for factories, packages in sizes:
        base = {"factories": factories, "packages": packages, "seed": args.seed, "workers": args.workers}
        row = _run_child({**base, "build": True})
        peak = row["peak_rss_mb"]
        for limit in limits:
            res = _run_child({**base, "limit": limit})
            peak = max(peak, res["peak_rss_mb"])
            key = f"{limit:g}"
            row[f"objective_{key}"] = res["objective"]
            row[f"bound_{key}"] = res["bound"]
            row[f"status_{key}"] = res["status"]
            row[f"verified_{key}"] = res["verified"]
            row[f"first_solution_s_{key}"] = res["first_solution_s"]
            row[f"trajectory_{key}"] = res["trajectory"]
            row[f"members_{key}"] = res["members"]
        row["peak_rss_mb"] = peak
        last = f"{limits[-1]:g}"
        row["first_solution_s"] = min(
            (row[f"first_solution_s_{lim:g}"] for lim in limits if row[f"first_solution_s_{lim:g}"]),
            default=None,
        )
        row["bound"] = max((row[f"bound_{lim:g}"] or 0) for lim in limits) or None
        row["gap_bound_pct"] = _gap(row[f"objective_{last}"], row["bound"])
        _apply_reference(row, limits)
        rows.append(row)
        print(
            f"{row['instance']}: elig {row['eligibility_s']} s build {row['build_s']} s "
            f"first {row['first_solution_s']} s "
            + " ".join(f"obj@{lim:g}s {_fmt(row[f'objective_{lim:g}'])}" for lim in limits)
            + f" bound {_fmt(row['bound'])} ref {_fmt(row.get('reference'))} "
            + " ".join(f"gap@{lim:g}s {row[f'gap_reference_{lim:g}_pct']} %" for lim in limits)
            + f" peak {peak} MB",
            flush=True,
        )
    instances = {r["instance"] for r in rows}
    report = {
        "machine": machine,
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "workers": args.workers,
        "seed": args.seed,
        "limits": limits,
        "rows": rows,
        "references": [
            {k: v for k, v in r.items() if k != "trajectory"}
            for r in _load_references()
            if r["instance"] in instances
        ],
    }
    Path(args.out + ".json").write_text(json.dumps(report, indent=1) + "\n")
    Path(args.out + ".md").write_text(_markdown(report))
    print(_markdown(report))


if __name__ == "__main__":
    main()
