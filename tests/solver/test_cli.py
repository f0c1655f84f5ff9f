"""``machikoba solve`` / ``python -m solver.cli``: sample problem, OR-Library GAP, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from solver import problem_from_json, solution_from_json, verify
from solver.cli import main

DATA = Path(__file__).parent / "data"
SAMPLE = DATA / "problem.json"
GAP1 = DATA / "gap1.txt"  # OR-Library gap1 (5 instances of 5 agents x 15 jobs), shipped with the tests
#: A generous wall limit with a deterministic bound: the answers do not depend on the machine's speed.
REPRODUCIBLE = ["--time-limit", "300", "--deterministic-time", "5"]


def test_solves_the_sample_problem(tmp_path: Path) -> None:
    # given
    out = tmp_path / "solution.json"
    # when
    code = main(["solve", str(SAMPLE), *REPRODUCIBLE, "--seed", "1", "-o", str(out)])
    # then
    assert code == 0
    solution = solution_from_json(out.read_text())
    assert solution.status == "optimal"
    assert verify(problem_from_json(SAMPLE.read_text()), solution) == []


def test_alternatives_and_preset(capsys: pytest.CaptureFixture[str]) -> None:
    # when
    code = main([str(SAMPLE), "--preset", "fastest", "--alternatives", "2", *REPRODUCIBLE])
    # then
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    members = [tuple(s["members"]) for s in doc["alternatives"]]
    assert len(members) == 2
    assert members[0] != members[1]


def test_orlib_gap_instance_one(capsys: pytest.CaptureFixture[str]) -> None:
    # when
    code = main(["--orlib-gap", str(GAP1), "--instance", "1", *REPRODUCIBLE, "--json"])
    # then: 261 is the known optimum (OR-Library)
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] in ("optimal", "feasible")
    assert out["objective"] == 261
    assert {"status", "objective", "bound", "wall_s", "assignment"} <= set(out)
    assert len(out["assignment"]) == 15
    assert all(0 <= a < 5 for a in out["assignment"])


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("{not json", "not valid JSON"),
        ('{"factories": []}', "packages"),
        (SAMPLE.read_text().replace('"unit_price": 950', '"unit_price": -950'), "offers[0].unit_price"),
    ],
)
def test_bad_input_exits_2_with_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, needle: str
) -> None:
    # given
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    # when
    code = main([str(bad)])
    # then
    assert code == 2
    err = capsys.readouterr().err
    assert needle in err
    assert "Traceback" not in err


def test_missing_file_and_bad_options_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["/nonexistent/problem.json"]) == 2
    assert main([str(SAMPLE), "--time-limit", "-1"]) == 2
    assert main([str(SAMPLE), "--preset", "cheapest-ish"]) == 2
    assert "error:" in capsys.readouterr().err


def test_module_entry_point_is_quiet_when_piped() -> None:
    # when
    run = subprocess.run(
        [sys.executable, "-m", "solver.cli", str(SAMPLE), *REPRODUCIBLE],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).parents[2],
    )
    # then
    assert run.returncode == 0
    assert run.stderr == ""
    assert json.loads(run.stdout)["status"] == "optimal"
