"""docs/solver-format.md shows the solution of docs/examples/problem.json: it must be what the solver says."""

from __future__ import annotations

import json
from pathlib import Path

from solver.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "problem.json"
FORMAT_DOC = ROOT / "docs" / "solver-format.md"


def test_documented_solution_matches_the_example(tmp_path: Path) -> None:
    # given the command the doc names (the example is solved to optimality in milliseconds)
    out = tmp_path / "solution.json"
    assert main([str(EXAMPLE), "--preset", "cheapest", "--time-limit", "10", "-o", str(out)]) == 0
    solution = json.loads(out.read_text())
    doc = FORMAT_DOC.read_text(encoding="utf-8")
    # then the doc's sample shows its members, lead, line completions and costs
    assert f'"members": {json.dumps(solution["members"])}, "lead": {json.dumps(solution["lead"])}' in doc
    assert f'"lines": {json.dumps(solution["lines"])}' in doc
    assert f'"production": {solution["costs"]["production"]}' in doc
