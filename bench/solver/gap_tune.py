"""Tuning harness for solve_gap: run named configurations on D/E instances and print gap % to reference.

Usage: .venv/bin/python -m bench.solver.gap_tune CONFIG [CONFIG ...] [--inst d10100,d20200,e10200] [--t 10]
"""

from __future__ import annotations

import argparse
import json
import os
import time

from bench.solver import gap_pipeline as G
from bench.solver.gap_common import gap_data, load_named, reference

CONFIGS: dict[str, G._Config] = {
    "plain": G._Config(use_greedy=False, use_lp=False, rc_fixing=False, hint=False),
    "hint": G._Config(rc_fixing=False),
    "hint_rc": G._Config(),
    "default": G.DEFAULT_CONFIG,
    "lns3": G._Config(lns_fraction=0.7, lns_agents=3),
    "lns4": G._Config(lns_fraction=0.7, lns_agents=4),
    "lns5": G._Config(lns_fraction=0.7, lns_agents=5),
    "kern": G._Config(first_share=0.1, kernel_deltas=(1, 2, 4, 8), kernel_share=0.7),
    "kern2": G._Config(first_share=0.1, kernel_deltas=(2, 5), kernel_share=0.7),
    "kern3": G._Config(first_share=0.1, kernel_deltas=(1, 3), kernel_share=0.5),
    "kernA": G._Config(first_share=0.1, kernel_deltas=(0.6, 1.2, 2.5, 5), kernel_share=0.75),
    "kernB": G._Config(first_share=0.05, kernel_deltas=(0.6, 1.2, 2.5, 5), kernel_share=0.8),
    "kernC": G._Config(first_share=0.05, kernel_deltas=(1.2, 2.5, 5), kernel_share=0.8),
    "krel": G._Config(
        first_share=0.05, kernel_deltas=(0.05, 0.1, 0.2, 0.4), kernel_share=0.8, kernel_relative=True
    ),
    "kB2": G._Config(first_share=0.05, kernel_deltas=(0.6, 1.2, 2.5, 5), kernel_share=0.8),
    "kB3": G._Config(first_share=0.05, kernel_deltas=(0.3, 0.6, 1.2, 2.5, 5), kernel_share=0.8),
    "kB4": G._Config(first_share=0.05, kernel_deltas=(0.5, 1, 2, 4), kernel_share=0.9),
    "kB3pc": G._Config(
        first_share=0.05,
        kernel_deltas=(0.3, 0.6, 1.2, 2.5, 5),
        kernel_share=0.8,
        kernel_params={"subsolvers": ["default_lp", "pseudo_costs"]},
    ),
    "kB3l2": G._Config(
        first_share=0.05,
        kernel_deltas=(0.3, 0.6, 1.2, 2.5, 5),
        kernel_share=0.8,
        kernel_params={"linearization_level": 2},
    ),
    "kB3lns": G._Config(
        first_share=0.05,
        kernel_deltas=(0.3, 0.6, 1.2, 2.5, 5),
        kernel_share=0.6,
        post_lns_fraction=0.7,
        lns_agents=4,
    ),
    "kB3r1": G._Config(
        first_share=0.05, kernel_deltas=(0.3, 0.6, 1.2, 2.5, 5), kernel_share=0.8, kernel_restart_s=1.0
    ),
    "kB3r2": G._Config(
        first_share=0.05, kernel_deltas=(0.3, 0.6, 1.2, 2.5, 5), kernel_share=0.8, kernel_restart_s=2.0
    ),
    "kB3s5": G._Config(first_share=0.05, kernel_deltas=(0.3, 0.6, 1.2, 2.5, 5), kernel_share=0.5),
    "kB3d8": G._Config(first_share=0.05, kernel_deltas=(0.3, 0.6, 1.2, 2.5, 5, 8), kernel_share=0.85),
    "kB3dv": G._Config(first_share=0.05, kernel_deltas=(0.3, 0.6, 1.2, 2.5, 5), kernel_share=0.8, dives=True),
    "lns4_90": G._Config(lns_fraction=0.9, lns_agents=4),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("configs", nargs="+")
    ap.add_argument("--inst", default="d10100,d20200,e10200")
    ap.add_argument("--t", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--params", default="{}", help="JSON dict of extra CP-SAT params")
    args = ap.parse_args()
    gap_data()  # fail early, in one line, when the instances are missing
    extra = json.loads(args.params)
    print(f"load {os.getloadavg()}")
    for cname in args.configs:
        cfg = CONFIGS[cname]
        if extra:
            cfg = G._Config(**{**cfg.__dict__, "params": {**cfg.params, **extra}})
        gaps = []
        for name in args.inst.split(","):
            inst = load_named(name)
            t0 = time.perf_counter()
            res = G._solve(inst, cfg, time_limit_s=args.t, workers=2, seed=args.seed)
            wall = time.perf_counter() - t0
            ref = reference()[name]
            gap = 100.0 * (res.objective - ref) / ref if res.objective is not None else float("nan")
            gaps.append(gap)
            print(
                f"{cname:12s} {name:8s} obj={res.objective} ref={ref} gap={gap:.3f}% {res.status} "
                f"bound={res.bound} wall={wall:.2f} {res.info}",
                flush=True,
            )
        print(f"{cname:12s} MEAN gap={sum(gaps) / len(gaps):.3f}%  params={cfg.params}", flush=True)


if __name__ == "__main__":
    main()
