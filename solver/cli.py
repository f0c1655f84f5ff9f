"""``machikoba solve``: solve a problem JSON file (or an OR-Library GAP instance) from the command line.

Exit codes: 0 a consortium was found, 1 infeasible or nothing found in time, 2 bad input (message on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from solver.jsonio import dumps, problem_from_json, solution_to_json
from solver.problem import PRESETS, Problem, ProblemError
from solver.solution import Progress, Solution
from solver.solve import alternatives, solve

__all__ = ["main"]

EXIT_OK, EXIT_NO_SOLUTION, EXIT_BAD_INPUT = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # exit code 2 with the message, as for bad input
        self.print_usage(sys.stderr)
        raise _BadInput(f"{self.prog}: {message}")


class _BadInput(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="machikoba solve", description="Find the best consortium for a problem JSON file.")
    p.add_argument("problem", nargs="?", help="problem JSON file (see docs/solver-format.md); - for stdin")
    p.add_argument("--preset", choices=PRESETS, help="objective preset (default: the problem's policy)")
    p.add_argument("--alternatives", type=int, metavar="K", help="up to K consortia with different members")
    p.add_argument("--time-limit", type=float, default=10.0, metavar="S", help="seconds (default 10)")
    p.add_argument("--workers", type=int, default=2, metavar="N", help="CP-SAT threads (default 2)")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (default 0)")
    p.add_argument(
        "--deterministic-time",
        type=float,
        metavar="S",
        help="also stop each CP-SAT search after S units of CP-SAT's deterministic time (reproducible runs)",
    )
    p.add_argument("-o", "--output", metavar="SOLUTION.json", help="write the solution here (default stdout)")
    p.add_argument("--orlib-gap", metavar="FILE", help="solve an OR-Library GAP instance instead")
    p.add_argument("--instance", type=int, default=1, metavar="K", help="1-based GAP instance (default 1)")
    p.add_argument("--json", action="store_true", help="print one JSON object (the default for problems)")
    return p


def _progress_printer(stream: TextIO) -> Callable[[Progress], None] | None:
    if not stream.isatty():
        return None

    def show(p: Progress) -> None:
        stream.write(
            f"\r{p.phase:>8}  objective {p.objective:>16,.0f}  bound {p.bound:>16,.0f}  "
            f"gap {p.gap:7.2%}  {p.elapsed_s:6.1f} s"
        )
        stream.flush()

    return show


def _load(path: str) -> Problem:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise _BadInput(f"{path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise _BadInput(f"{path}: not UTF-8 text") from None
    try:
        return problem_from_json(text)
    except ProblemError as exc:
        raise _BadInput(f"{path}: {exc}") from None


def _write(text: str, output: str | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise _BadInput(f"{output}: cannot write ({exc.strerror or exc})") from None


def _solve_gap(args: argparse.Namespace) -> int:
    from solver import gap

    try:
        inst = gap.read_gap_file(args.orlib_gap, args.instance)
    except (OSError, ValueError) as exc:
        raise _BadInput(str(exc)) from None
    # The general solver on the GAP read as a consortium problem (its kernel search applies).
    problem = gap.gap_to_problem(inst)
    sol = solve(
        problem,
        time_limit_s=args.time_limit,
        workers=args.workers,
        seed=args.seed,
        deterministic_time_s=args.deterministic_time,
    )
    out = {
        "status": sol.status,
        "objective": sol.objective,
        "bound": sol.bound,
        "gap": sol.gap,
        "wall_s": sol.wall_s,
        "first_solution_s": sol.first_solution_s,
        "assignment": gap.gap_assignment(problem, sol) if sol.has_consortium else [],
        "file": str(args.orlib_gap),
        "instance": args.instance,
    }
    _write(json.dumps(out) + "\n", args.output)
    return EXIT_OK if sol.has_consortium else EXIT_NO_SOLUTION


def main(argv: list[str] | None = None) -> int:
    """Run ``machikoba solve`` with ``argv`` (the arguments after ``solve``; a leading ``solve`` is
    skipped)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["solve"]:
        args_list = args_list[1:]
    try:
        args = _parser().parse_args(args_list)
        if (
            args.time_limit <= 0
            or args.workers < 1
            or (args.alternatives is not None and args.alternatives < 1)
            or (args.deterministic_time is not None and args.deterministic_time <= 0)
        ):
            raise _BadInput(
                "--time-limit and --deterministic-time must be positive, "
                "--workers and --alternatives at least 1"
            )
        if args.orlib_gap:
            if args.problem is not None:
                raise _BadInput(
                    f"give either a problem file ({args.problem}) or --orlib-gap {args.orlib_gap}, not both"
                )
            return _solve_gap(args)
        if args.problem is None:
            raise _BadInput("a problem JSON file is required (or --orlib-gap FILE)")
        problem = _load(args.problem)
        if args.preset:
            problem = replace(problem, policy=replace(problem.policy, preset=args.preset))
        progress = _progress_printer(sys.stderr)
        common: dict[str, Any] = {
            "time_limit_s": args.time_limit,
            "workers": args.workers,
            "seed": args.seed,
            "deterministic_time_s": args.deterministic_time,
        }
        solutions: list[Solution]
        if args.alternatives:
            solutions = alternatives(problem, args.alternatives, on_progress=progress, **common)
        else:
            solutions = [solve(problem, on_progress=progress, **common)]
        if progress is not None:
            sys.stderr.write("\n")
        if args.alternatives:
            text = dumps({"alternatives": [solution_to_json(s) for s in solutions]})
        else:
            text = dumps(solution_to_json(solutions[0]))
        _write(text, args.output)
        return EXIT_OK if solutions[0].has_consortium else EXIT_NO_SOLUTION
    except _BadInput as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
