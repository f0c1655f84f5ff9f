"""Every reason code names the real cause, and every infeasible answer carries a relaxation with numbers.

In each case the trouble is in a later package or line, never the first one (issue 10 §3).
"""

from __future__ import annotations

from collections.abc import Iterable

from solver import Capacity, Offer, Policy, Problem, Solution, WorkPackage, solve, verify
from tests.solver.builders import WALL_S, caps, fac, off, pkg, problem

FINE_PACKAGES = [pkg("ok1", 10), pkg("ok2", 10)]
FINE_OFFERS = [off("A", "ok1", 100), off("B", "ok1", 110), off("A", "ok2", 100), off("B", "ok2", 110)]


def _problem(
    packages: Iterable[WorkPackage],
    offers: Iterable[Offer],
    *,
    policy: Policy | None = None,
    capacity: Iterable[Capacity] = (),
    factories: str = "ABCDE",
    certified: Iterable[str] = (),
) -> Problem:
    """Two fine packages first, then ``packages``; factories A-E with 40 h a week for six weeks."""
    certs = {f: ["Nadcap HT", "ISO 9001"] for f in certified}
    return problem(
        [fac(f, certs=certs.get(f, ())) for f in factories],
        [*FINE_PACKAGES, *packages],
        [*FINE_OFFERS, *offers],
        tuple(capacity) or caps(factories, ["turning", "grinding", "heat"], range(6), 40),
        policy,
    )


def _explained(p: Problem) -> Solution:
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=5)
    assert s.status == "infeasible"
    assert s.explanation is not None
    assert s.explanation.relaxations, s.explanation.summary
    assert verify(p, s) == []
    return s


def _reason(s: Solution, code: str) -> str:
    assert s.explanation is not None
    found = [r.message for r in s.explanation.reasons if r.code == code]
    assert found, [r.code for r in s.explanation.reasons]
    return found[0]


def _relaxations(s: Solution, code: str) -> list[str]:
    assert s.explanation is not None
    return [r.message for r in s.explanation.relaxations if r.code == code]


def test_certification_names_who_would_qualify_and_who_holds_it_but_is_filtered() -> None:
    # given: "bad" needs Nadcap HT; A and C offer without it; D holds it but is excluded
    p = _problem(
        [pkg("bad", 10, required_certifications=frozenset({"Nadcap HT"}))],
        [off("A", "bad"), off("C", "bad"), off("D", "bad")],
        policy=Policy(excluded=frozenset({"D"})),
        certified="D",
    )
    # when
    s = _explained(p)
    # then
    assert "package bad" in _reason(s, "no_eligible_factory")
    assert _relaxations(s, "certification") == [
        "dropping the Nadcap HT requirement of package bad: 2 factories would qualify (A, C)"
    ]
    assert _relaxations(s, "excluded") == [
        "no longer excluding factory D (it holds Nadcap HT), which offers 100 JPY per unit"
    ]


def test_offer_maximums_below_the_lot_suggest_the_lot_that_fits() -> None:
    # given: "bad" is one lot of 50 units, the offers take at most 20 and 30
    p = _problem(
        [pkg("bad", 50, splittable=False)],
        [off("A", "bad", max_quantity=20), off("C", "bad", 90, max_quantity=30)],
    )
    # when
    s = _explained(p)
    # then
    assert "maximum quantit" in _reason(s, "no_eligible_factory")
    assert _relaxations(s, "max_quantity") == [
        "splitting package bad into lots of at most 30 units (factory C's maximum)"
    ]


def test_a_due_date_too_early_for_the_chain_names_the_line_and_a_date_that_works() -> None:
    # given: line L3's four operations are due on day 3; its first operation has no due date of its own
    ops = ["turning", "heat", "grinding", "turning"]
    chain = [pkg(f"L3-{k}", 10, line="L3", op=k, process=proc, part="shaft") for k, proc in enumerate(ops)]
    chain[-1] = pkg("L3-3", 10, line="L3", op=3, process="turning", part="shaft", due_day=3)
    p = _problem(chain, [off(f, w.id, hours_per_unit=0.5) for w in chain for f in "AC"])
    # when
    s = _explained(p)
    # then: the line's due date and its chain, not "earliest starts" of operation 0
    message = _reason(s, "due_date")
    assert "line L3 'shaft' must finish by 2026-01-08" in message
    assert "turning → heat → grinding → turning" in message
    assert s.explanation is not None
    assert "earliest start" not in s.explanation.summary
    (relax,) = _relaxations(s, "due_date")
    assert relax.startswith("relaxing the due date of line L3 'shaft' to 2026-01-")


def test_capacity_before_the_due_date_says_how_many_hours_and_which_date() -> None:
    # given: "bad" needs 30 h by day 14, and only 10 h a week are free
    p = _problem(
        [pkg("bad", 30, due_day=14)],
        [off("C", "bad")],
        capacity=caps("AB", ["turning"], range(6), 40) + caps("C", ["turning"], range(6), 10),
    )
    # when
    s = _explained(p)
    # then
    assert "20 h free (10 h short)" in _reason(s, "capacity_before_due")
    assert _relaxations(s, "capacity") == [
        "10 more free h of turning at the eligible factories by 2026-01-19 (2026-W04)"
    ]
    (due,) = _relaxations(s, "due_date")
    assert "2026-01-" in due


def test_competing_packages_name_the_capacity_and_what_would_fit() -> None:
    # given: A is the only factory, 40 h in one week; ok1 and ok2 take 20 h, "bad" 30 h more
    p = problem(
        [fac("A")],
        [*FINE_PACKAGES, pkg("bad", 30)],
        [off("A", "ok1"), off("A", "ok2"), off("A", "bad")],
        caps("A", ["turning"], [0], 40),
    )
    # when
    s = _explained(p)
    # then
    assert "factory A has 40 h of turning free" in _reason(s, "capacity")
    assert _relaxations(s, "capacity") == ["10 more free h of turning at A in 2026-W02"]
    assert _relaxations(s, "quantity") == ["lowering the quantity of package bad to 20 units"]


def test_pinned_and_excluded() -> None:
    # given
    p = _problem(
        [pkg("bad", 10)], [off("C", "bad")], policy=Policy(pinned=frozenset({"C"}), excluded=frozenset({"C"}))
    )
    # when
    s = _explained(p)
    # then
    assert "factory C is both pinned and excluded" in _reason(s, "pinned_excluded")
    assert _relaxations(s, "pinned") == ["unpinning factory C"]


def test_pinned_but_not_eligible() -> None:
    # given: E's only offer lacks the required certification
    p = _problem(
        [pkg("bad", 10, required_certifications=frozenset({"ISO 9001"}))],
        [off("C", "bad"), off("E", "bad")],
        policy=Policy(pinned=frozenset({"E"})),
        certified="C",
    )
    # when
    s = _explained(p)
    # then
    assert "pinned factory E is not eligible" in _reason(s, "pinned_not_eligible")
    assert _relaxations(s, "pinned") == ["unpinning factory E"]


def test_two_pinned_factories_for_one_unsplittable_package() -> None:
    # given: C and D are pinned, but their only offers are for the one lot of "bad"
    p = _problem(
        [pkg("bad", 10, splittable=False)],
        [off("C", "bad"), off("D", "bad")],
        policy=Policy(pinned=frozenset({"C", "D"})),
    )
    # when
    s = _explained(p)
    # then
    assert "is pinned as a member" in _reason(s, "pinned")
    assert set(_relaxations(s, "pinned")) <= {"unpinning factory C", "unpinning factory D"}
    assert _relaxations(s, "pinned")


def test_more_pinned_factories_than_members_allowed() -> None:
    # given
    p = _problem(
        [pkg("bad", 10)],
        [off("C", "bad"), off("D", "bad")],
        policy=Policy(pinned=frozenset({"A", "C", "D"}), max_members=2),
    )
    # when
    s = _explained(p)
    # then
    assert "3 factories are pinned" in _reason(s, "max_members")
    assert _relaxations(s, "max_members") == ["raising max members to 3"]


def test_min_members_above_the_eligible_factories() -> None:
    # given: only A, B and C are eligible for anything
    p = _problem([pkg("bad", 10)], [off("C", "bad")], policy=Policy(min_members=5))
    # when
    s = _explained(p)
    # then
    assert "only 3 factories are eligible" in _reason(s, "min_members")
    assert _relaxations(s, "min_members") == ["lowering min members to 3"]


def test_max_share_needing_more_members_than_eligible() -> None:
    # given: 20 % each needs five members, three are eligible
    p = _problem([pkg("bad", 10)], [off("C", "bad")], policy=Policy(max_share=0.2))
    # when
    s = _explained(p)
    # then
    assert "needs at least 5 members" in _reason(s, "max_share")
    assert _relaxations(s, "max_share") == ["raising the max share to 34%"]


def test_no_eligible_lead_names_the_holders() -> None:
    # given: only E holds ISO 9001, and E has no eligible offer (it is excluded)
    p = _problem(
        [pkg("bad", 10)],
        [off("C", "bad"), off("E", "bad")],
        policy=Policy(lead_certification="ISO 9001", excluded=frozenset({"E"})),
        certified="E",
    )
    # when
    s = _explained(p)
    # then
    assert "factories holding it are not eligible for any package: E" in _reason(s, "lead")
    assert _relaxations(s, "lead") == ["dropping the ISO 9001 lead requirement"]
