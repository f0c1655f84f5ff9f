"""Routing: operation k starts after operation k-1 ends everywhere, plus transport days; transport cost."""

from __future__ import annotations

from solver import TransportLink, solve, verify
from tests.solver.builders import WALL_S, caps, fac, off, pkg, problem


def _two_ops(transport_days: int, transport_cost: int, due: int | None = None) -> object:
    return problem(
        [fac("A", "13"), fac("B", "27")],
        [pkg("t", 10, line="L", op=0), pkg("g", 10, line="L", op=1, process="grinding", due_day=due)],
        [off("A", "t", 10), off("B", "t", 30), off("A", "g", 30), off("B", "g", 10)],
        caps("AB", ["turning", "grinding"], range(6), 40),
        transport=(TransportLink("13", "27", transport_days, transport_cost),),
    )


def test_next_operation_waits_for_output_plus_transport() -> None:
    # given: cheapest is A then B, 3 days apart
    p = _two_ops(3, 100)
    # when
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=2)  # type: ignore[arg-type]
    # then
    by = {a.package: a for a in s.assignments}
    assert (by["t"].factory, by["g"].factory) == ("A", "B")
    assert by["g"].start_day >= by["t"].end_day + 3
    assert s.costs is not None
    assert s.costs.transport == 100
    assert verify(p, s) == []  # type: ignore[arg-type]


def test_transport_cost_can_keep_a_line_at_one_factory() -> None:
    # given: the hand-off costs more than the price difference (2 × 200)
    p = _two_ops(1, 1000)
    # when
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=2)  # type: ignore[arg-type]
    # then
    assert len({a.factory for a in s.assignments}) == 1
    assert s.costs is not None
    assert s.costs.transport == 0
    assert verify(p, s) == []  # type: ignore[arg-type]


def test_verifier_flags_a_start_before_the_previous_output() -> None:
    # given
    p = _two_ops(3, 100)
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=2)  # type: ignore[arg-type]
    moved = tuple(
        a.__class__(a.factory, a.package, a.quantity, 0, a.end_day, a.hours) if a.package == "g" else a
        for a in s.assignments
    )
    # when
    violations = verify(p, s.__class__(**{**s.__dict__, "assignments": moved}))  # type: ignore[arg-type]
    # then
    assert any("routing" in v for v in violations)
