"""The lead: required to be certified when asked, information only (and may be null) otherwise."""

from __future__ import annotations

from dataclasses import replace

from solver import Policy, solve, verify
from tests.solver.builders import WALL_S, caps, fac, off, pkg, problem

P = problem(
    [fac("A", certs=["ISO 9001"]), fac("B")],
    [pkg("p1", 10), pkg("p2", 10)],
    [off("A", "p1", 10), off("B", "p2", 30)],
    caps("AB", ["turning"], [0], 40),
)


def test_without_a_lead_certification_a_null_lead_verifies() -> None:
    # given
    s = solve(P, time_limit_s=WALL_S, deterministic_time_s=2)
    # then: the solver names the member of the largest production value; null is accepted too
    assert s.lead == "B"
    assert verify(P, replace(s, lead=None)) == []
    assert verify(P, replace(s, lead="C")) == ["lead C is not a member"]


def test_with_a_lead_certification_the_lead_is_required() -> None:
    # given
    p = replace(P, policy=Policy(lead_certification="ISO 9001"))
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=2)
    # then
    assert s.lead == "A"
    assert verify(p, s) == []
    assert verify(p, replace(s, lead=None)) != []
