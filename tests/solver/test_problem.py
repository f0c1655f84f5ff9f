"""Validation of problems: every malformed field is named."""

from __future__ import annotations

import pytest

from solver import Policy, ProblemError
from tests.solver.builders import caps, fac, off, pkg, problem


def _base(**kw: object) -> dict[str, object]:
    args: dict[str, object] = {
        "factories": [fac("A")],
        "packages": [pkg("p1")],
        "offers": [off("A", "p1")],
        "capacity": caps(["A"], ["turning"], [0], 40),
    }
    args.update(kw)
    return args


def test_valid_problem_builds() -> None:
    # given / when
    p = problem(**_base())  # type: ignore[arg-type]
    # then
    assert p.lines["p1"][0].id == "p1"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"offers": [off("Z", "p1")]}, "offers[0].factory"),
        ({"offers": [off("A", "nope"), off("A", "p1")]}, "offers[0].package"),
        ({"offers": [off("A", "p1", -5)]}, "offers[0].unit_price"),
        ({"packages": [pkg("p1", -3)]}, "packages[0].quantity"),
        ({"packages": [pkg("p1", 5, min_lot=6)]}, "packages[0].min_lot"),
        ({"capacity": caps(["A"], ["turning"], [0], -1)}, "capacity[0].hours"),
        ({"packages": [pkg("p1"), pkg("p2")]}, "packages[1]"),
        ({"factories": [fac("A"), fac("A")]}, "factories[1].id"),
        ({"policy": Policy(pinned=frozenset({"Q"}))}, "policy.pinned"),
        ({"policy": Policy(max_share=1.5)}, "policy.max_share"),
        ({"offers": [off("A", "p1"), off("A", "p1")]}, "offers[1]"),
    ],
)
def test_malformed_field_is_named(change: dict[str, object], field: str) -> None:
    # when
    with pytest.raises(ProblemError) as err:
        problem(**_base(**change))  # type: ignore[arg-type]
    # then
    assert err.value.field == field
