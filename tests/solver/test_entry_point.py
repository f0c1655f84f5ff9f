"""The installed ``machikoba`` command's ``solve`` subcommand, and GAP file errors (run as a user would)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from solver import problem_from_json, solution_from_json, verify
from solver.gap import GapFormatError, read_gap_file

DATA = Path(__file__).parent / "data"
SAMPLE = DATA / "problem.json"
GAP1 = DATA / "gap1.txt"
REPRODUCIBLE = ["--time-limit", "300", "--deterministic-time", "5"]


def _machikoba() -> str:
    """The console script installed next to this interpreter (the venv's), else the one on PATH."""
    beside = Path(sys.executable).with_name("machikoba")
    found = str(beside) if beside.exists() else shutil.which("machikoba")
    assert found is not None, "the machikoba entry point is not installed (pip install -e .)"
    return found


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_machikoba(), *args], capture_output=True, text=True, check=False, timeout=600)


def test_solve_help_lists_the_solver_options() -> None:
    # when
    run = _run("solve", "--help")
    # then
    assert run.returncode == 0, run.stderr
    assert "--orlib-gap" in run.stdout
    assert "--preset" in run.stdout


def test_solve_takes_options_before_the_file() -> None:
    # when
    run = _run("solve", "--preset", "fastest", *REPRODUCIBLE, str(SAMPLE))
    # then
    assert run.returncode == 0, run.stderr
    solution = solution_from_json(run.stdout)
    assert solution.preset == "fastest"
    assert verify(problem_from_json(SAMPLE.read_text()), solution) == []


def test_solve_orlib_gap_first() -> None:
    # when
    run = _run("solve", "--orlib-gap", str(GAP1), "--instance", "2", *REPRODUCIBLE)
    # then: 269 is the known optimum of gap1 instance 2
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["objective"] == 269


def test_a_problem_file_and_a_gap_file_together_are_refused() -> None:
    # when
    run = _run("solve", str(SAMPLE), "--orlib-gap", str(GAP1))
    # then
    assert run.returncode == 2
    assert "not both" in run.stderr
    assert str(SAMPLE) in run.stderr


def test_other_commands_still_reject_unknown_arguments() -> None:
    # when
    run = _run("migrate", "--bogus")
    # then
    assert run.returncode == 2
    assert "unrecognized arguments: --bogus" in run.stderr


def _truncated_gap1(tmp_path: Path, keep_instances: float) -> Path:
    """gap1.txt cut inside its instance ``floor(keep_instances) + 1`` (each instance has 2 + 2·5·15 + 5)."""
    tokens = GAP1.read_text().split()
    cut = 1 + int(keep_instances * (2 + 2 * 5 * 15 + 5))
    path = tmp_path / "gap1-truncated.txt"
    path.write_text(" ".join(tokens[:cut]))
    return path


def test_a_truncated_gap_file_names_the_truncated_instance(tmp_path: Path) -> None:
    # given: the file ends in the middle of instance 3 of 5
    path = _truncated_gap1(tmp_path, 2.5)
    # when
    with pytest.raises(GapFormatError) as caught:
        read_gap_file(path, 1)
    # then
    message = str(caught.value)
    assert "instance 3 of 5" in message
    assert "truncated" in message
    assert "instance 4" not in message


def test_a_truncated_gap_file_is_one_line_on_the_command_line(tmp_path: Path) -> None:
    # given
    path = _truncated_gap1(tmp_path, 4.2)
    # when
    run = _run("solve", "--orlib-gap", str(path))
    # then
    assert run.returncode == 2
    assert "instance 5 of 5" in run.stderr
    assert "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_a_truncated_single_instance_file_says_so(tmp_path: Path) -> None:
    # given: one 5 x 15 instance without the leading count, cut short
    tokens = GAP1.read_text().split()[1 : 1 + 100]
    path = tmp_path / "single.txt"
    path.write_text(" ".join(tokens))
    # when
    with pytest.raises(GapFormatError) as caught:
        read_gap_file(path)
    # then
    assert "single 5 x 15 instance" in str(caught.value)
