"""The time-aware member bound (``solver/caps.py``, issue 10 §4) and the solve's time budget.

The bound must be a true relaxation: never above the exact model's fewest members (checked on small
generated RFQs against CP-SAT minimising members on the exact model), and above the LP bound where the
lines' due dates force work to be split between factories.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from ortools.sat.python import cp_model

from solver import Policy, Problem, TransportLink, solve, verify
from solver.bound import members_lower_bound
from solver.caps import members_time_bound
from solver.eligibility import analyse
from solver.generate import generate_problem
from solver.greedy import members_needed
from solver.model import build_model
from solver.solve import phase_limit
from tests.solver.builders import WALL_S, caps, fac, off, pkg, problem

TURNERS = ("T1", "T2", "T3", "T4")
GRINDERS = ("G1", "G2", "G3", "G4")


def _two_operations(cap: int | None = None) -> Problem:
    """One line: 100 units turned, then ground, due on day 14; four turners and four grinders, 1 h per unit,
    40 h free a week in weeks 0 and 1, no transport days. Each factory could do 80 h by the due date, so
    without time two of each would do; but an operation's share takes 7 · hours / 40 days at a factory,
    and both operations must fit in 14 days one after the other: 17.5 / n₁ + 17.5 / n₂ ≤ 14 needs three
    of each (two and three: 8.75 + 5.83 days > 14)."""
    factories = [fac(f) for f in (*TURNERS, *GRINDERS)]
    packages = [
        pkg("turn", 100, line="L", op=0, process="turning"),
        pkg("grind", 100, line="L", op=1, process="grinding", due_day=14),
    ]
    offers = [off(f, "turn") for f in TURNERS] + [off(f, "grind") for f in GRINDERS]
    capacity = (*caps(TURNERS, ["turning"], [0, 1], 40), *caps(GRINDERS, ["grinding"], [0, 1], 40))
    return problem(
        factories,
        packages,
        offers,
        capacity,
        Policy(max_members=cap),
        transport=(TransportLink("13", "13", 0, 0),),
    )


def _exact_fewest(p: Problem) -> int | None:
    """The exact model's fewest members over every eligible pair (``None`` unless proven optimal)."""
    b = build_model(p, analyse(p, None).eligible, with_members=True, member_cap=False)
    b.model.minimize(b.members_count())
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_deterministic_time = 20.0
    solver.parameters.max_time_in_seconds = WALL_S
    if solver.solve(b.model) != cp_model.OPTIMAL:
        return None
    return round(solver.objective_value)


def test_due_dates_that_force_splitting_raise_the_bound_above_coverage_and_the_lp() -> None:
    # given
    p = _two_operations()
    eligible = analyse(p, None).eligible
    # when
    bound = members_time_bound(p, eligible, time_limit_s=WALL_S)
    lp = members_lower_bound(p, eligible)
    # then: six, which the exact model needs too; coverage and the LP see two and three
    assert bound is not None
    assert bound.exact
    assert bound.value == 6
    assert _exact_fewest(p) == 6
    assert members_needed(eligible) == 2
    assert lp is not None
    assert math.ceil(lp - 1e-6) <= 3


@pytest.mark.parametrize(
    ("factories", "packages", "seed"),
    [(10, 5, 0), (10, 5, 2), (10, 5, 6), (10, 5, 7), (14, 6, 0), (14, 6, 4)],
)
def test_the_bound_never_exceeds_the_exact_fewest_members(factories: int, packages: int, seed: int) -> None:
    # given: small generated RFQs (due dates, routings, weekly hours, transport) that have a consortium
    p = generate_problem(factories, packages, seed)
    eligible = analyse(p, None).eligible
    exact = _exact_fewest(p)
    # when
    bound = members_time_bound(p, eligible, time_limit_s=WALL_S)
    # then
    assert exact is not None
    assert bound is not None
    assert bound.exact
    assert 1 <= bound.value <= exact


def test_a_cap_below_the_bound_is_infeasible_at_once_with_a_count_that_works() -> None:
    # given
    p = _two_operations(cap=5)
    # when
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=5)
    # then
    assert s.status == "infeasible"
    assert s.explanation is not None
    assert [r.code for r in s.explanation.reasons] == ["max_members"]
    assert (
        "at most 5 member(s) allowed, but every consortium needs at least 6"
        in s.explanation.reasons[0].message
    )
    assert [r.message for r in s.explanation.relaxations] == [
        "raising max members to 6 (the fewest found without the cap)"
    ]
    assert verify(p, s) == []


def test_a_cap_at_the_bound_finds_the_consortium() -> None:
    # given
    p = _two_operations(cap=6)
    # when
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=5)
    # then
    assert s.status in ("optimal", "feasible")
    assert len(s.members) == 6
    assert verify(p, s) == []


def test_without_hard_due_dates_time_does_not_count() -> None:
    # given: the same RFQ, but lateness is paid for instead of forbidden
    base = _two_operations()
    p = replace(base, policy=replace(base.policy, lateness_penalty_per_day=1000))
    # when
    bound = members_time_bound(p, analyse(p, None).eligible, time_limit_s=WALL_S)
    # then: two turners and two grinders make it, late
    assert bound is not None
    assert bound.value == 4


def test_no_time_no_bound() -> None:
    p = _two_operations()
    assert members_time_bound(p, analyse(p, None).eligible, time_limit_s=0.0) is None


# ------------------------------------------------------------------ the time budget of a solve


def test_a_phase_gets_its_share_of_what_is_left_after_the_reserve() -> None:
    assert phase_limit(30.0, 0.5) == 15.0
    assert phase_limit(30.0, 0.5, reserve=10.0) == 10.0
    assert phase_limit(30.0, 0.5, cap=4.0) == 4.0


def test_a_phase_after_the_deadline_gets_nothing() -> None:
    assert phase_limit(-2.0, 0.6) == 0.0
    assert phase_limit(3.0, 0.6, reserve=5.0) == 0.0
    assert phase_limit(0.0, 1.0, cap=10.0) == 0.0


def test_phases_that_each_use_their_whole_limit_end_within_the_time_limit() -> None:
    # given: a capped solve's phases in order (member bound, choosing members, member phase, the rest)
    from solver.solve import (
        CAPPED_START_SHARE,
        FEWEST_BRIEF_MAX_S,
        FEWEST_BRIEF_SHARE,
        MEMBER_BOUND_MAX_S,
        MEMBER_BOUND_SHARE,
        MEMBER_PHASE_SHARE,
        RELAXATION_MAX_S,
        RELAXATION_SHARE,
    )

    for total in (1.0, 10.0, 30.0, 120.0):
        remaining = total
        for share, top in (
            (MEMBER_BOUND_SHARE, MEMBER_BOUND_MAX_S),
            (FEWEST_BRIEF_SHARE, FEWEST_BRIEF_MAX_S),
            (CAPPED_START_SHARE, None),
            (MEMBER_PHASE_SHARE, None),
            (RELAXATION_SHARE, RELAXATION_MAX_S),
            (1.0, None),
        ):
            # when: each phase takes all it is given
            used = phase_limit(remaining, share, cap=top)
            assert used >= 0.0
            remaining -= used
        # then
        assert remaining >= -1e-9
