"""No hidden horizon (issue 10 §1) and hours rounded once, on the total (§2)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from solver import Problem, TransportLink, solve, verify
from tests.solver.builders import WALL_S, caps, fac, off, pkg, problem


def _inspection_far_away(*, near_offer: bool) -> Problem:
    """Turning at A (10 h, in the only capacity week), then an inspection that needs no hours.

    B inspects for 30,000 JPY but is 5 transport days away, so its work ends after the last capacity
    week; C (if offered) is next door for 90,000 JPY. The cheapest plan, A then B, costs 80,000.
    """
    offers = [
        off("A", "turn", 5000),
        off("B", "inspect", 3000, hours_per_unit=0.0),
    ]
    if near_offer:
        offers.append(off("C", "inspect", 9000, hours_per_unit=0.0))
    return problem(
        [fac("A", "13"), fac("B", "27"), fac("C", "13")],
        [pkg("turn", 10, line="L", op=0), pkg("inspect", 10, line="L", op=1, process="inspection")],
        offers,
        caps("A", ["turning"], [0], 40),
        transport=(TransportLink("13", "27", 5, 0),),
    )


@pytest.mark.parametrize("near_offer", [True, False])
def test_an_operation_may_end_after_the_last_capacity_week(near_offer: bool) -> None:
    # given: A ends day 2 at the earliest, B starts day 7 and ends day 8, after capacity week 0
    p = _inspection_far_away(near_offer=near_offer)
    # when
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=5)
    # then: 80,000 is the optimum (A then B); before, 140,000 was called optimal, or the variant infeasible
    assert s.status in ("optimal", "feasible")
    assert s.objective == 80_000
    assert s.bound is not None
    assert s.bound <= 80_000
    assert s.members == ("A", "B")
    assert s.completion_day is not None
    assert s.completion_day > 7
    assert verify(p, s) == []


def test_the_horizon_covers_transport_and_durations_after_the_last_capacity_week() -> None:
    # given
    p = _inspection_far_away(near_offer=False)
    # then: turning takes 2 days (10 h at 40 h a week), 5 days to B, inspection 1 day
    assert p.horizon_day >= 2 + 5 + 1


def _fine_hours(*, due_day: int | None, splittable: bool) -> Problem:
    # 400 units at 0.0125 h = exactly 5 h, and exactly 5 h free: rounding 0.0125 up to 0.013 needed 5.2 h
    return problem(
        [fac("A")],
        [pkg("p1", 400, due_day=due_day, splittable=splittable)],
        [off("A", "p1", 10, hours_per_unit=0.0125)],
        caps("A", ["turning"], [0, 1], 5) if due_day else caps("A", ["turning"], [0], 5),
    )


@pytest.mark.parametrize(("due_day", "splittable"), [(None, True), (None, False), (7, True), (7, False)])
def test_hours_are_rounded_once_on_the_total(due_day: int | None, splittable: bool) -> None:
    # given
    p = _fine_hours(due_day=due_day, splittable=splittable)
    # when
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=5)
    # then: feasible, and exactly 5 h booked
    assert s.status in ("optimal", "feasible")
    assert s.objective == 4000
    assert sum(h for a in s.assignments for _, h in a.hours) == pytest.approx(5.0)
    assert verify(p, s) == []


def test_setup_and_unit_hours_add_before_rounding() -> None:
    # given: setup 0.0004 h and 0.0003 h per unit: 10 units need 0.0034 h, booked as 0.004 h
    p = replace(
        _fine_hours(due_day=7, splittable=True),
        packages=(pkg("p1", 10, due_day=7),),
        offers=(off("A", "p1", 10, hours_per_unit=0.0003, setup_hours=0.0004),),
    )
    # when
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=5)
    # then: one rounding of 3.4 thousandths, not 1 + 10 × 1 = 11 thousandths
    assert s.status in ("optimal", "feasible")
    assert sum(h for a in s.assignments for _, h in a.hours) == pytest.approx(0.004)
    assert verify(p, s) == []
