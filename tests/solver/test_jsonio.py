"""JSON form of problems and solutions: lossless round trips, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from solver import (
    Problem,
    ProblemError,
    problem_from_json,
    problem_to_json,
    solution_from_json,
    solution_to_json,
    solve,
)
from tests.solver.builders import WALL_S
from tests.solver.strategies import problems

SAMPLE = Path(__file__).parent / "data" / "problem.json"


def test_sample_problem_round_trips() -> None:
    # given
    text = SAMPLE.read_text()
    # when
    p = problem_from_json(text)
    # then
    assert problem_from_json(json.dumps(problem_to_json(p))) == p
    assert problem_to_json(p) == json.loads(text)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_random_problems_round_trip(p: Problem) -> None:
    assert problem_from_json(json.dumps(problem_to_json(p))) == p


def test_solutions_round_trip_feasible_and_infeasible() -> None:
    # given
    p = problem_from_json(SAMPLE.read_text())
    feasible = solve(p, time_limit_s=WALL_S, deterministic_time_s=2)
    doc = problem_to_json(p)
    doc["packages"][0]["due"] = "2026-01-06"
    infeasible = solve(problem_from_json(doc), time_limit_s=WALL_S, deterministic_time_s=2)
    for s in (feasible, infeasible):
        # when
        back = solution_from_json(json.dumps(solution_to_json(s)))
        # then
        assert back == s
    assert infeasible.status == "infeasible"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d["offers"][1].update(unit_price="cheap"), "offers[1].unit_price"),
        (lambda d: d["offers"][0].update(factory="nobody"), "offers[0].factory"),
        (lambda d: d["packages"][2].update(quantity=-4), "packages[2].quantity"),
        (lambda d: d["capacity"][3].update(hours=-1), "capacity[3].hours"),
        (lambda d: d["capacity"][0].update(week="week 48"), "capacity[0].week"),
        (lambda d: d["packages"][0].update(due="tomorrow"), "packages[0].due"),
        (lambda d: d["policy"].update(colour="red"), "policy.colour"),
        (lambda d: d.pop("factories"), "factories"),
        (
            lambda d: d.update(offers=[o for o in d["offers"] if o["package"] != "bracket-press"]),
            "packages[3]",
        ),
    ],
)
def test_malformed_documents_name_the_field(mutate: object, field: str) -> None:
    # given
    doc = json.loads(SAMPLE.read_text())
    mutate(doc)  # type: ignore[operator]
    # when
    with pytest.raises(ProblemError) as err:
        problem_from_json(doc)
    # then
    assert err.value.field == field


def test_invalid_json_text() -> None:
    with pytest.raises(ProblemError) as err:
        problem_from_json("{not json")
    assert err.value.field == "(document)"
