"""Fixed assignments (``Problem.fixed``): validation, JSON, repair solves and ``verify``."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from solver import (
    FixedAssignment,
    Policy,
    Problem,
    ProblemError,
    Solution,
    alternatives,
    problem_from_json,
    problem_to_json,
    solve,
    verify,
)
from tests.solver.builders import WALL_S, caps, fac, off, pkg, problem

DET_S = 5.0


def _solve(p: Problem) -> Solution:
    return solve(p, time_limit_s=WALL_S, deterministic_time_s=DET_S)


def _shares(s: Solution) -> dict[tuple[str, str], int]:
    return {(a.factory, a.package): a.quantity for a in s.assignments}


def _base(**kw: Any) -> Problem:
    """Two one-operation packages, four factories; A is the cheapest everywhere, C has 70 h free."""
    factories = [fac(f) for f in "ABCD"]
    packages = [pkg("P1", 100), pkg("P2", 60)]
    prices = {"P1": {"A": 10, "B": 12, "C": 11, "D": 13}, "P2": {"A": 10, "B": 20, "C": 15, "D": 16}}
    offers = [off(f, p, prices[p][f]) for p in prices for f in "ABCD"]
    capacity = [*caps("ABD", ["turning"], [0], 100.0), *caps("C", ["turning"], [0], 70.0)]
    return problem(factories, packages, offers, capacity, **kw)


# ------------------------------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("fixed", "policy", "field", "words"),
    [
        (FixedAssignment("Z", "P1", 10), None, "fixed[0].factory", "unknown factory 'Z'"),
        (FixedAssignment("A", "P9", 10), None, "fixed[0].package", "unknown package 'P9'"),
        (FixedAssignment("E", "P1", 10), None, "fixed[0]", "has no offer for package 'P1'"),
        (FixedAssignment("A", "P1", 0), None, "fixed[0].quantity", "must be positive"),
        (FixedAssignment("A", "P1", -5), None, "fixed[0].quantity", "must not be negative"),
        (FixedAssignment("A", "P1", 101), None, "fixed[0].quantity", "above the quantity 100"),
        (FixedAssignment("B", "P1", 50), None, "fixed[0].quantity", "above the offer's maximum quantity 40"),
        (FixedAssignment("A", "P1", 10), Policy(excluded=frozenset({"A"})), "fixed[0].factory", "excluded"),
        (FixedAssignment("A", "P1", 10, start_day=3), None, "fixed[0].end_day", "given together"),
        (FixedAssignment("A", "P1", 10, end_day=3), None, "fixed[0].start_day", "given together"),
        (FixedAssignment("A", "P1", 10, 5, 5), None, "fixed[0].end_day", "must be after the start"),
        (FixedAssignment("A", "P1", 10, 6, 2), None, "fixed[0].end_day", "must be after the start"),
        (FixedAssignment("A", "P1", 10, -1, 2), None, "fixed[0].start_day", "must not be negative"),
        (FixedAssignment("A", "P2", 5), None, "fixed[0].quantity", "not splittable"),
        (FixedAssignment("A", "P3", 5), None, "fixed[0].quantity", "below the minimum lot 10"),
    ],
)
def test_invalid_fixed_assignments_are_rejected(
    fixed: FixedAssignment, policy: Policy | None, field: str, words: str
) -> None:
    # given: E offers nothing for P1, B at most 40 units; P2 is unsplittable, P3 has lots of 10
    factories = [fac(f) for f in "ABE"]
    packages = [pkg("P1", 100), pkg("P2", 20, splittable=False), pkg("P3", 50, min_lot=10)]
    offers = [off("A", "P1"), off("B", "P1", max_quantity=40), off("A", "P2"), off("E", "P2"), off("A", "P3")]
    # when
    with pytest.raises(ProblemError) as err:
        problem(factories, packages, offers, (), policy, fixed=(fixed,))
    # then
    assert err.value.field == field
    assert words in err.value.message


def test_fixed_quantities_of_a_package_must_not_exceed_it() -> None:
    # given
    fixed = (FixedAssignment("A", "P1", 70), FixedAssignment("B", "P1", 40))
    # when
    with pytest.raises(ProblemError) as err:
        _base(fixed=fixed)
    # then
    assert err.value.field == "fixed[1].quantity"
    assert "add up to 110, above its quantity 100" in err.value.message


def test_a_pair_is_fixed_once() -> None:
    with pytest.raises(ProblemError, match="second fixed assignment of 'A' for 'P1'"):
        _base(fixed=(FixedAssignment("A", "P1", 10), FixedAssignment("A", "P1", 20)))


# ------------------------------------------------------------------------------------------------ JSON


def test_json_round_trip_with_fixed_assignments() -> None:
    # given
    p = _base(fixed=(FixedAssignment("B", "P1", 30, start_day=3, end_day=10), FixedAssignment("C", "P2", 60)))
    # when
    doc = problem_to_json(p)
    # then
    assert doc["fixed"] == [
        {"factory": "B", "package": "P1", "quantity": 30, "start_day": 3, "end_day": 10},
        {"factory": "C", "package": "P2", "quantity": 60},
    ]
    assert problem_from_json(json.dumps(doc)) == p


def test_a_problem_without_fixed_assignments_reads_and_writes_as_before() -> None:
    # given: a document of the format before fixed assignments existed
    p = _base()
    doc = problem_to_json(p)
    # when
    back = problem_from_json(json.dumps(doc))
    # then
    assert "fixed" not in doc
    assert back == p
    assert back.fixed == ()


def test_json_fixed_assignments_are_checked() -> None:
    # given
    doc = problem_to_json(_base())
    doc["fixed"] = [{"factory": "A", "package": "P1", "quantity": 10, "start": 3}]
    # when / then
    with pytest.raises(ProblemError, match=r"fixed\[0\]\.start: unknown field"):
        problem_from_json(doc)
    doc["fixed"] = [{"factory": "A", "package": "P1", "quantity": "10"}]
    with pytest.raises(ProblemError, match=r"fixed\[0\]\.quantity: must be an integer"):
        problem_from_json(doc)
    doc["fixed"] = [{"factory": "A", "package": "P1", "quantity": 10, "start_day": 4, "end_day": None}]
    with pytest.raises(ProblemError, match=r"fixed\[0\]\.end_day: start and end are given together"):
        problem_from_json(doc)


# --------------------------------------------------------------------------------------------- solving


def test_repair_keeps_the_fixed_share_and_reoptimises_the_rest() -> None:
    # given: A declined (excluded); B accepted 60 units of P2 at 20 JPY (C and D would be cheaper)
    repair = _base(policy=Policy(excluded=frozenset({"A"})), fixed=(FixedAssignment("B", "P2", 60),))
    # when
    s = _solve(repair)
    # then: P1 goes to C (11 JPY, 70 h free) and to B's 40 h left (12 JPY): 770 + 360 + 1,200
    assert verify(repair, s) == []
    assert s.status == "optimal"
    assert _shares(s) == {("B", "P2"): 60, ("C", "P1"): 70, ("B", "P1"): 30}
    assert s.objective == 2330
    assert "B" in s.members


def test_repair_of_a_solved_problem_keeps_the_accepted_shares() -> None:
    # given: the original answer; its largest member declines, the others accepted their shares
    original = _base()
    before = _solve(original)
    decliner = max(
        before.members, key=lambda f: sum(a.quantity for a in before.assignments if a.factory == f)
    )
    kept = tuple(
        FixedAssignment(a.factory, a.package, a.quantity) for a in before.assignments if a.factory != decliner
    )
    repair = replace(original, policy=Policy(excluded=frozenset({decliner})), fixed=kept)
    # when
    after = _solve(repair)
    # then: every accepted share is unchanged, the decliner is out, and the repair cannot be cheaper
    assert kept
    assert verify(repair, after) == []
    assert all(_shares(after)[fa.key] == fa.quantity for fa in kept)
    assert decliner not in after.members
    assert before.objective is not None
    assert after.objective is not None
    assert after.objective >= before.objective


def _scheduled(**kw: Any) -> Problem:
    """A two-operation line with a due date: turning then milling, three weeks of capacity."""
    factories = [fac(f) for f in "ABC"]
    packages = [pkg("T", 40, line="L", op=1), pkg("M", 40, line="L", op=2, process="milling", due_day=21)]
    offers = [
        off(f, p, price)
        for p, prices in (("T", (10, 12, 14)), ("M", (10, 11, 12)))
        for f, price in zip("ABC", prices, strict=True)
    ]
    capacity = caps("ABC", ["turning", "milling"], [0, 1, 2], 20.0)
    return problem(factories, packages, offers, capacity, **kw)


def test_pinned_days_are_honoured() -> None:
    # given: B keeps 20 units of T on days [2, 9), later than the best schedule would put them
    p = _scheduled(fixed=(FixedAssignment("B", "T", 20, start_day=2, end_day=9),))
    # when
    s = _solve(p)
    # then
    assert verify(p, s) == []
    fixed = next(a for a in s.assignments if (a.factory, a.package) == ("B", "T"))
    assert (fixed.quantity, fixed.start_day, fixed.end_day) == (20, 2, 9)
    # the routing applies to the fixed share: milling starts after its output plus transport
    assert all(a.start_day >= 9 + 1 for a in s.assignments if a.package == "M" and a.factory != "B")


# ---------------------------------------------------------------------------------------------- verify


def test_verify_rejects_a_solution_that_breaks_a_fixed_assignment() -> None:
    # given: a valid answer of the problem without fixed assignments
    p = _scheduled()
    s = _solve(p)
    a = s.assignments[0]
    other_qty = replace(p, fixed=(FixedAssignment(a.factory, a.package, a.quantity - 1),))
    other_days = replace(
        p, fixed=(FixedAssignment(a.factory, a.package, a.quantity, a.start_day + 1, a.end_day + 1),)
    )
    missing = replace(p, fixed=(FixedAssignment("C", "T", 10),))
    # when / then
    assert verify(p, s) == []
    assert f"fixed assignment {a.factory}/{a.package}: quantity {a.quantity}, fixed at {a.quantity - 1}" in (
        verify(other_qty, s)
    )
    assert any("pinned at" in v for v in verify(other_days, s))
    assert "fixed assignment C/T: not in the solution" in verify(missing, s)


# ------------------------------------------------------------------------------------- member cap


def test_fixed_factories_count_against_max_members() -> None:
    # given: D keeps 40 units of P1 (13 JPY); at most two members
    fixed = (FixedAssignment("D", "P1", 40),)
    free, capped = _base(fixed=fixed), _base(policy=Policy(max_members=2), fixed=fixed)
    # when
    a, b = _solve(free), _solve(capped)
    # then: without the cap C takes 20 units; with it D's 60 h left take 20 units of P2 at 16 JPY
    assert verify(free, a) == []
    assert a.objective == 40 * 13 + 100 * 10 + 20 * 11
    assert verify(capped, b) == []
    assert b.status == "optimal"
    assert set(b.members) == {"A", "D"}
    assert _shares(b) == {("D", "P1"): 40, ("A", "P1"): 60, ("A", "P2"): 40, ("D", "P2"): 20}
    assert b.objective == 40 * 13 + 100 * 10 + 20 * 16


def test_more_fixed_factories_than_max_members_is_explained() -> None:
    # given
    p = _base(
        policy=Policy(max_members=1), fixed=(FixedAssignment("B", "P1", 20), FixedAssignment("C", "P2", 60))
    )
    # when
    s = _solve(p)
    # then
    assert s.status == "infeasible"
    assert s.explanation is not None
    assert [r.code for r in s.explanation.reasons] == ["fixed_assignment"]
    assert "2 factories keep fixed assignments (B, C), but at most 1 member(s)" in s.explanation.summary
    assert [x.message for x in s.explanation.relaxations] == ["raising max members to 2"]


# ------------------------------------------------------------------------------------- explanations


def _explained(p: Problem) -> tuple[set[tuple[str, tuple[str, ...]]], list[str], str]:
    s = _solve(p)
    assert s.status == "infeasible"
    assert verify(p, s) == []
    assert s.explanation is not None
    reasons = {(r.code, r.subjects) for r in s.explanation.reasons}
    return reasons, [x.message for x in s.explanation.relaxations], s.explanation.summary


def test_a_pinned_window_past_the_due_date_is_explained() -> None:
    # given: B's 20 units of M (due day 21, 2026-01-26) are pinned to days [18, 24)
    p = _scheduled(fixed=(FixedAssignment("B", "M", 20, start_day=18, end_day=24),))
    # when
    reasons, relaxations, summary = _explained(p)
    # then
    assert ("fixed_assignment", ("B", "M")) in reasons
    assert "factory B's fixed share of package M (20 units, pinned to 2026-01-23 – 2026-01-29)" in summary
    assert "its pinned end 2026-01-29 (2026-W05) is after the date package M must be done by" in summary
    assert "relaxing the due date of line L to 2026-01-29 (2026-W05)" in relaxations
    assert (
        "releasing factory B's fixed share of package M (20 units, pinned to 2026-01-23 – 2026-01-29) so "
        "that other factories may take it" in relaxations
    )
    assert len(relaxations) == len(set(relaxations))


def test_a_pinned_window_too_short_for_the_hours_says_what_end_fits() -> None:
    # given: 20 h of turning at 20 h a week take 7 days, pinned to 2
    p = _scheduled(fixed=(FixedAssignment("B", "T", 20, start_day=0, end_day=2),))
    # when
    reasons, relaxations, summary = _explained(p)
    # then
    assert reasons == {("fixed_assignment", ("B", "T"))}
    assert "take at least 7 day(s) at the factory's best weekly rate (20 h a week)" in summary
    assert "moving the pinned end of factory B's share of package T to 2026-01-12 (2026-W03)" in relaxations


def test_a_fixed_share_beyond_the_free_hours_says_what_quantity_fits() -> None:
    # given: B has 20 h of milling free in weeks 0 and 2 but 10 h in week 1, where its 20 units are pinned
    others = tuple(c for c in _scheduled().capacity if (c.factory, c.process, c.week) != ("B", "milling", 1))
    p = replace(
        _scheduled(fixed=(FixedAssignment("B", "M", 20, start_day=7, end_day=14),)),
        capacity=(*others, *caps("B", ["milling"], [1], 10.0)),
    )
    # when
    reasons, relaxations, summary = _explained(p)
    # then
    assert reasons == {("fixed_assignment", ("B", "M"))}
    assert "its 20 units need 20 h of milling, the factory has 10 h free in its pinned days" in summary
    assert (
        "lowering factory B's fixed share of package M to 10 units (what its free hours hold)" in relaxations
    )
    assert any(x.startswith("10 more free h of milling at factory B") for x in relaxations)


def test_the_rest_of_a_package_without_the_excluded_factories_is_explained() -> None:
    # given: A (declined) and C are excluded; B keeps 20 of T's 40 units and nobody else can take the rest
    p = _scheduled(policy=Policy(excluded=frozenset({"A", "C"})), fixed=(FixedAssignment("B", "T", 20),))
    # when
    reasons, relaxations, summary = _explained(p)
    # then
    assert reasons == {("fixed_assignment", ("T", "B"))}
    assert "the fixed shares of package T" in summary
    assert "no other eligible factory can make the remaining 20 units" in summary
    assert "no longer excluding factory A, which offers 10 JPY per unit" in relaxations
    assert "raising factory B's fixed share of package T from 20 to 40 units" in relaxations


def test_a_fixed_share_in_a_conflict_is_named_by_the_core_with_a_relaxation() -> None:
    # given: B's 20 units of T pinned to days [12, 19): milling of the rest cannot end by the due day 21
    p = _scheduled(fixed=(FixedAssignment("B", "T", 20, start_day=12, end_day=19),))
    # when
    reasons, relaxations, summary = _explained(p)
    # then: each piece fits on its own, so the conflict comes from the assumption core
    assert ("fixed_assignment", ("B", "T")) in reasons
    assert (
        "factory B's fixed share of package T (20 units, pinned to 2026-01-17 – 2026-01-24) is kept"
        in summary
    )
    # 20 h at 20 h a week take 7 days: the earliest end is day 7, from day 0
    assert (
        "moving the pinned days of factory B's fixed share of package T (20 units, pinned to 2026-01-17 – "
        "2026-01-24) to 2026-01-05 – 2026-01-12 (the earliest end that fits)" in relaxations
    )


def test_fixed_shares_competing_for_hours_say_how_far_to_lower_one() -> None:
    # given: B keeps 60 units of P1 and 60 of P2, 120 h in all, but has 100 h free; each alone fits
    p = _base(fixed=(FixedAssignment("B", "P1", 60), FixedAssignment("B", "P2", 60)))
    # when
    reasons, relaxations, summary = _explained(p)
    # then: lowering one share by 20 units (others take them) or 20 more hours would do
    assert {("fixed_assignment", ("B", "P1")), ("fixed_assignment", ("B", "P2"))} <= reasons
    assert "factory B has 100 h of turning free in 2026-W02" in summary
    assert any(x.startswith("20 more free h of turning at B") for x in relaxations)
    assert any(
        x.startswith("lowering factory B's fixed share of package P") and x.endswith("from 60 to 40 units")
        for x in relaxations
    )


# ---------------------------------------------------------------------------------- other entry points


def test_alternatives_and_hints_keep_the_fixed_shares() -> None:
    # given: B keeps 60 units of P2; a hint that ignores it
    p = _base(fixed=(FixedAssignment("B", "P2", 60),))
    # when
    alts = alternatives(p, 3, time_limit_s=WALL_S, deterministic_time_s=DET_S)
    hinted = solve(
        p, time_limit_s=WALL_S, deterministic_time_s=DET_S, hint={("A", "P2"): 60, ("A", "P1"): 40}
    )
    # then: different member sets, every one with B's share
    assert len(alts) >= 2
    assert len({frozenset(s.members) for s in alts}) == len(alts)
    for s in (*alts, hinted):
        assert verify(p, s) == []
        assert _shares(s)[("B", "P2")] == 60
    assert hinted.objective == alts[0].objective


def test_when_no_single_change_suffices_the_fixed_share_is_released_with_a_due_date() -> None:
    # given: turning can start on day 10 only; B keeps all 40 units of milling pinned to days [7, 21)
    base = _scheduled()
    offers = tuple(replace(o, earliest_start_day=10) if o.package == "T" else o for o in base.offers)
    p = replace(
        base,
        offers=offers,
        policy=Policy(excluded=frozenset({"A"})),
        fixed=(FixedAssignment("B", "M", 40, start_day=7, end_day=21),),
    )
    # when
    reasons, relaxations, summary = _explained(p)
    # then: unpinned, milling still cannot end by the due day 21: turning ends on day 17 at the earliest
    # (B and C 20 units each), milling (B and C again, one transport day from C) on day 25
    assert ("fixed_assignment", ("B", "M")) in reasons
    assert relaxations == [
        "releasing factory B's fixed share of package M (40 units, pinned to 2026-01-12 – 2026-01-26) "
        "together with relaxing the due date of line L to 2026-01-30 (2026-W05)"
    ]
    assert "would make it feasible" in summary
