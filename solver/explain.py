"""Why a problem has no consortium, in the coordinator's words.

1. Pre-checks (no solver): a package without any eligible factory (and which filter removed the last
   candidate), a package whose eligible factories cannot make its quantity in their free hours before
   the due date (by how much), and contradictory policy rules.
2. Otherwise a CP-SAT model whose constraint groups (each package's coverage, each factory's capacity per
   process and week, each line's due date, each policy rule) are enforced by assumption literals; the
   solver's sufficient assumptions are shrunk to a minimal conflicting set by deletion, put into words,
   and for a few of them a solve without that group tells how far relaxing it would have to go.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import replace

from ortools.sat.python import cp_model

from solver.dates import date_of, iso_week, week_label
from solver.eligibility import Eligibility, PairData, analyse, describe_package, failing_filters
from solver.greedy import members_needed
from solver.model import Built, Group, build_model, hours_expr
from solver.problem import FixedAssignment, Policy, Problem, WorkPackage
from solver.solution import Explanation, Reason, Relaxation

__all__ = ["Finding", "explain_infeasible", "precheck", "precheck_explanation"]

MAX_DELETION_CHECKS = 40
MAX_RELAXATION_TRIALS = 6
MAX_EARLIEST_LINES = 5  # pre-checks solve at most this many lines alone for their earliest completion
_RELAX_ORDER = {
    "due": 0,
    "max_members": 1,
    "fixed": 2,
    "pinned": 2,
    "lead": 3,
    "max_share": 4,
    "min_members": 5,
    "capacity": 6,
    "cover": 7,
}


def _h(mh: float) -> str:
    return f"{mh / 1000:,.0f} h"


def _line_name(problem: Problem, line: str) -> str:
    part = next((p.part for p in problem.lines[line] if p.part), "")
    return f"line {line}" + (f" '{part}'" if part else "")


Finding = tuple[Reason, tuple[Relaxation, ...]]


def _shortage(
    problem: Problem, pkg: WorkPackage, pairs: tuple[PairData, ...], earliest: _Earliest
) -> Finding | None:
    """Can the eligible factories together make the package's quantity in their free hours?"""
    units = sum(p.unit_capacity for p in pairs)
    if units >= pkg.quantity:
        return None
    need = min(p.need_mh(pkg.quantity) for p in pairs)
    free: dict[str, int] = {}
    for p in pairs:
        free[p.factory.id] = p.window_mh
    have = sum(free.values())
    due = _hard_due_day(problem, pkg)
    by = f" by {week_label(problem.origin, due)}" if due is not None else ""
    text = (
        f"{_line_name(problem, pkg.line)} {pkg.process} (package {pkg.id}, {pkg.quantity:,} units): "
        f"{_h(need)} needed{by}, eligible factories have {_h(have)} free"
    )
    relaxations: list[Relaxation] = []
    if have < need:
        text += f" ({_h(need - have)} short)"
        relaxations.append(
            Relaxation(
                "capacity",
                f"{math.ceil((need - have) / 1000):,} more free h of {pkg.process} at the eligible factories"
                + by,
                (pkg.id,),
            )
        )
    else:
        text += f" but can make only {units:,} of the {pkg.quantity:,} units (setups, lots and offer limits)"
        relaxations.append(
            Relaxation("quantity", f"lowering the quantity of package {pkg.id} to {units:,} units", (pkg.id,))
        )
    if due is not None:
        relaxations.extend(earliest.relaxations(pkg.line))
    return Reason("capacity_before_due", text, (pkg.id, *sorted(free))), tuple(relaxations)


def _hard_due_day(problem: Problem, pkg: WorkPackage) -> int | None:
    return problem.latest_end[pkg.id] if problem.policy.lateness_penalty_per_day is None else None


class _Earliest:
    """The earliest day each line could finish on its own (no due dates, no other line, no member rules),
    by a ``fastest`` solve of that line alone; computed once per line."""

    def __init__(self, problem: Problem, *, time_limit_s: float, seed: int, det: float | None) -> None:
        self.problem = problem
        self.time_limit_s = time_limit_s
        self.seed = seed
        self.det = det
        self.done: dict[str, int | None] = {}

    def day(self, line: str) -> int | None:
        if line not in self.done:
            if len(self.done) >= MAX_EARLIEST_LINES:
                return None
            self.done[line] = self._solve(line)
        return self.done[line]

    def _solve(self, line: str) -> int | None:
        from solver.solve import solve  # solve imports this module

        p = self.problem
        pkgs = tuple(replace(pkg, due_day=None) for pkg in p.lines[line])
        ids = {pkg.id for pkg in pkgs}
        alone = replace(
            p,
            packages=pkgs,
            offers=tuple(o for o in p.offers if o.package in ids),
            collaborations=(),
            fixed=tuple(fa for fa in p.fixed if fa.package in ids),
            policy=Policy(preset="fastest", excluded=p.policy.excluded),
        )
        limit = max(0.5, self.time_limit_s / MAX_EARLIEST_LINES)
        sol = solve(alone, time_limit_s=limit, seed=self.seed, deterministic_time_s=self.det)
        return sol.completion_day if sol.has_consortium else None

    def relaxations(self, line: str) -> tuple[Relaxation, ...]:
        day = self.day(line)
        if day is None:
            return ()
        name, date = _line_name(self.problem, line), week_label(self.problem.origin, day)
        text = f"relaxing the due date of {name} to {date}"
        return (Relaxation("due_date", text, (line,)),)


def _due_finding(problem: Problem, pkg: WorkPackage, earliest: _Earliest) -> Finding | None:
    """When a due date (the package's own, or its line's through the later operations) leaves a package
    without candidates and the line alone could finish later: the line's due date and the chain that does
    not fit before it, with the earliest due date that works."""
    if _hard_due_day(problem, pkg) is None:
        return None
    day = earliest.day(pkg.line)
    pkgs = problem.lines[pkg.line]
    due = max(p.due_day for p in pkgs if p.due_day is not None)
    if day is None or day <= due:
        return None  # the due date is not what stops it
    chain = " → ".join(p.process for p in pkgs)
    hand_offs = " with transport between factories" if len(pkgs) > 1 else ""
    text = (
        f"{_line_name(problem, pkg.line)} must finish by {week_label(problem.origin, due)}, but its "
        f"operations {chain}{hand_offs} cannot all fit before then (its {pkg.process} has no offer that can "
        f"start and finish in time); on its own the line can finish by {week_label(problem.origin, day)}"
    )
    return Reason("due_date", text, (pkg.line, pkg.id)), earliest.relaxations(pkg.line)


def _eligibility_relaxations(problem: Problem, pkg: WorkPackage) -> tuple[Relaxation, ...]:
    """Changes that would give a package without candidates one: per factory whose offer fails one filter
    only, that filter's change (with its figure); certification also names the holders blocked otherwise."""
    filters = failing_filters(problem, pkg)
    out: list[Relaxation] = []
    certs = ", ".join(sorted(pkg.required_certifications))
    qualify = sorted(f for f, (fails, _) in filters.items() if fails == ("certification",))
    if qualify:
        out.append(
            Relaxation(
                "certification",
                f"dropping the {certs} requirement of package {pkg.id}: {len(qualify)} "
                f"factor{'y' if len(qualify) == 1 else 'ies'} would qualify ({', '.join(qualify[:5])})",
                (pkg.id, *qualify),
            )
        )
    single = sorted(
        (
            (f, fails[0], pair)
            for f, (fails, pair) in filters.items()
            if len(fails) == 1 and fails[0] != "certification"
        ),
        key=lambda item: (item[2].offer.unit_price, item[0]),
    )
    seen: set[str] = set()
    for f, code, pair in single:
        if code in seen:
            continue
        seen.add(code)
        holder = f" (it holds {certs})" if pkg.required_certifications else ""
        if code == "excluded":
            price = pair.offer.unit_price
            text = f"no longer excluding factory {f}{holder}, which offers {price:,} JPY per unit"
        elif code == "max_quantity":
            most = pair.offer.max_quantity or 0
            limit = f"{most:,} units (factory {f}'s maximum){holder}"
            text = (
                f"lowering the minimum lot of package {pkg.id} to {limit}"
                if pkg.splittable
                else f"splitting package {pkg.id} into lots of at most {limit}"
            )
        elif code == "capacity":
            smallest = pkg.quantity if not pkg.splittable else pkg.min_lot
            short = math.ceil((pair.need_mh(smallest) - pair.window_mh) / 1000)
            due = _hard_due_day(problem, pkg)
            by = f" before {week_label(problem.origin, due)}" if due is not None else ""
            text = f"{max(1, short):,} more free h of {pkg.process} at factory {f}{by}{holder}"
        else:
            continue  # earliest start: the due date finding covers it
        out.append(Relaxation(code, text, (pkg.id, f)))
    return tuple(out)


# ------------------------------------------------------------------------------- fixed assignments


def _share(problem: Problem, fa: FixedAssignment) -> str:
    """``factory B's fixed share of package P1 (120 units, days 2026-01-08 – 2026-01-15)``."""
    days = ""
    if fa.start_day is not None and fa.end_day is not None:
        first = date_of(problem.origin, fa.start_day).isoformat()
        last = date_of(problem.origin, fa.end_day).isoformat()
        days = f", pinned to {first} – {last}"
    return f"factory {fa.factory}'s fixed share of package {fa.package} ({fa.quantity:,} units{days})"


def _release(problem: Problem, fa: FixedAssignment, *, checked: bool = True) -> Relaxation:
    """Releasing a fixed share; ``checked=False``: a solve could not confirm in time that it suffices."""
    unsure = "" if checked else " (not confirmed by a solve within the time limit)"
    return Relaxation(
        "fixed_assignment",
        f"releasing {_share(problem, fa)} so that other factories may take it{unsure}",
        (fa.factory, fa.package),
    )


def _fixed_finding(problem: Problem, fa: FixedAssignment, text: str, *more: Relaxation) -> Finding:
    """A ``fixed_assignment`` reason: the share, what it breaks, and the changes that would fit it."""
    reason = Reason(
        "fixed_assignment", f"{_share(problem, fa)} cannot be kept: {text}", (fa.factory, fa.package)
    )
    return reason, (*more, _release(problem, fa))


def _fixed_pair_findings(problem: Problem, elig: Eligibility, fa: FixedAssignment) -> list[Finding]:
    """What keeps one fixed assignment from fitting on its own: eligibility, its pinned days against the
    offer's earliest start and the due date, its hours against the free hours, its duration."""
    pkg = problem.package_by_id[fa.package]
    offer = problem.offer_by_pair[fa.key]
    origin = problem.origin
    pair = next((p for p in elig.eligible.get(pkg.id, ()) if p.key == fa.key), None)
    due = _hard_due_day(problem, pkg)
    subjects = (fa.factory, fa.package)
    if pair is None:
        fails = failing_filters(problem, pkg).get(fa.factory, ((), None))[0]
        if "certification" in fails:
            missing = ", ".join(
                sorted(pkg.required_certifications - problem.factory_by_id[fa.factory].certifications)
            )
            return [
                _fixed_finding(
                    problem,
                    fa,
                    f"the factory lacks {missing}, required by the package",
                    Relaxation(
                        "certification", f"dropping the {missing} requirement of package {pkg.id}", (pkg.id,)
                    ),
                )
            ]
        assert due is not None  # the only other filter a fixed pair can fail: starting after the due date
        line_due = Relaxation(
            "due_date",
            f"relaxing the due date of {_line_name(problem, pkg.line)} to "
            f"{week_label(origin, offer.earliest_start_day + 1 + (due - (pkg.due_day or due)))}",
            (pkg.line,),
        )
        return [
            _fixed_finding(
                problem,
                fa,
                f"the offer starts only on {week_label(origin, offer.earliest_start_day)}, not before the "
                f"package must be done ({week_label(origin, due)})",
                line_due,
            )
        ]
    out: list[Finding] = []
    need = pair.need_mh(fa.quantity)
    if fa.start_day is not None and fa.end_day is not None:
        start, end = fa.start_day, fa.end_day
        if start < offer.earliest_start_day:
            moved = offer.earliest_start_day + (end - start)
            out.append(
                _fixed_finding(
                    problem,
                    fa,
                    f"its pinned start is before the offer's earliest start "
                    f"{week_label(origin, offer.earliest_start_day)}",
                    Relaxation(
                        "fixed_assignment",
                        f"moving the pinned days of factory {fa.factory}'s share of package {pkg.id} to "
                        f"{date_of(origin, offer.earliest_start_day).isoformat()} – "
                        f"{date_of(origin, moved).isoformat()}",
                        subjects,
                    ),
                )
            )
        if due is not None and end > due:
            due_day = max(p.due_day or 0 for p in problem.lines[pkg.line])
            out.append(
                _fixed_finding(
                    problem,
                    fa,
                    f"its pinned end {week_label(origin, end)} is after the date package {pkg.id} must be "
                    f"done by ({week_label(origin, due)}: its line's due date and later operations)",
                    Relaxation(
                        "due_date",
                        f"relaxing the due date of {_line_name(problem, pkg.line)} to "
                        f"{week_label(origin, due_day + end - due)}",
                        (pkg.line,),
                    ),
                )
            )
        if need > 0 and pair.rate_mh > 0 and pair.rate_mh * (end - start) < 7 * need:
            days = math.ceil(7 * need / pair.rate_mh)
            out.append(
                _fixed_finding(
                    problem,
                    fa,
                    f"its {_h(need)} of {pkg.process} take at least {days} day(s) at the factory's best "
                    f"weekly rate ({_h(pair.rate_mh)} a week), but it is pinned to {end - start} day(s)",
                    Relaxation(
                        "fixed_assignment",
                        f"moving the pinned end of factory {fa.factory}'s share of package {pkg.id} to "
                        f"{week_label(origin, start + days)}",
                        subjects,
                    ),
                )
            )
    if need > pair.window_mh and not out:
        when = " in its pinned days" if fa.start_day is not None else ""
        by = f" before {week_label(origin, due)}" if due is not None else ""
        fits = pair.units_within(pair.window_mh)
        more: list[Relaxation] = [
            Relaxation(
                "capacity",
                f"{max(1, math.ceil((need - pair.window_mh) / 1000)):,} more free h of {pkg.process} at "
                f"factory {fa.factory}{when}{by}",
                subjects,
            )
        ]
        if fits >= pkg.min_lot and pkg.splittable:
            more.insert(
                0,
                Relaxation(
                    "fixed_assignment",
                    f"lowering factory {fa.factory}'s fixed share of package {pkg.id} to {fits:,} units "
                    "(what its free hours hold)",
                    subjects,
                ),
            )
        out.append(
            _fixed_finding(
                problem,
                fa,
                f"its {fa.quantity:,} units need {_h(need)} of {pkg.process}, the factory has "
                f"{_h(pair.window_mh)} free{when}{by}",
                *more,
            )
        )
    return out


def _fixed_rest_finding(problem: Problem, elig: Eligibility, pkg: WorkPackage) -> Finding | None:
    """When the fixed shares of a package leave units that no other eligible factory can take."""
    taken = problem.fixed_quantity.get(pkg.id)
    if taken is None or taken == pkg.quantity:
        return None
    rest = pkg.quantity - taken
    others = [p for p in elig.eligible.get(pkg.id, ()) if p.key not in problem.fixed_by_pair]
    if others:
        return None
    mine = [fa for fa in problem.fixed if fa.package == pkg.id]
    shares = ", ".join(f"{fa.factory} {fa.quantity:,}" for fa in mine)
    if rest < pkg.min_lot:
        why = f"the remaining {rest:,} units are below its minimum lot {pkg.min_lot:,}"
        more = [Relaxation("min_lot", f"lowering the minimum lot of package {pkg.id} to {rest:,}", (pkg.id,))]
    else:
        why = f"no other eligible factory can make the remaining {rest:,} units"
        more = list(_eligibility_relaxations(problem, pkg))
    for fa in mine:
        offer = problem.offer_by_pair[fa.key]
        if offer.max_quantity is None or offer.max_quantity >= fa.quantity + rest:
            more.append(
                Relaxation(
                    "fixed_assignment",
                    f"raising factory {fa.factory}'s fixed share of package {pkg.id} from {fa.quantity:,} to "
                    f"{fa.quantity + rest:,} units",
                    (fa.factory, pkg.id),
                )
            )
    more.extend(_release(problem, fa) for fa in mine)
    text = f"the fixed shares of {describe_package(pkg)} take {taken:,} units ({shares}); {why}"
    return Reason("fixed_assignment", text, (pkg.id, *(fa.factory for fa in mine))), tuple(more)


def _fixed_findings(problem: Problem, elig: Eligibility) -> tuple[list[Finding], set[str]]:
    """Findings about the fixed assignments, and the packages they cover (not reported again)."""
    out: list[Finding] = []
    packages: set[str] = set()
    for fa in problem.fixed:
        found = _fixed_pair_findings(problem, elig, fa)
        if found:
            packages.add(fa.package)
        out.extend(found)
    for pkg in problem.packages:
        if pkg.id not in elig.removed:
            rest = _fixed_rest_finding(problem, elig, pkg)
            if rest is not None:
                out.append(rest)
                packages.add(pkg.id)
    pol = problem.policy
    members = problem.fixed_factories | pol.pinned
    if pol.max_members is not None and len(problem.fixed_factories) > 0 and len(members) > pol.max_members:
        names = ", ".join(sorted(problem.fixed_factories))
        pinned = (
            f" and {len(pol.pinned - problem.fixed_factories)} more pinned"
            if pol.pinned - problem.fixed_factories
            else ""
        )
        out.append(
            (
                Reason(
                    "fixed_assignment",
                    f"{len(problem.fixed_factories)} factories keep fixed assignments ({names}){pinned}, "
                    f"but at most {pol.max_members} member(s) are allowed",
                    ("max_members", *sorted(problem.fixed_factories)),
                ),
                (Relaxation("max_members", f"raising max members to {len(members)}", ()),),
            )
        )
    return out, packages


def precheck(
    problem: Problem,
    elig: Eligibility,
    *,
    time_limit_s: float = 2.0,
    seed: int = 0,
    deterministic_time_s: float | None = None,
) -> list[Finding]:
    """Obvious infeasibility found without solving the whole problem (empty if none): each reason with the
    relaxations that would remove it (a date, hours, a quantity, a member count, a share, a factory)."""
    pol = problem.policy
    earliest = _Earliest(problem, time_limit_s=time_limit_s, seed=seed, det=deterministic_time_s)
    out: list[Finding] = []
    for f in sorted(pol.pinned & pol.excluded):
        out.append(
            (
                Reason("pinned_excluded", f"factory {f} is both pinned and excluded by the policy", (f,)),
                (
                    Relaxation("pinned", f"unpinning factory {f}", (f,)),
                    Relaxation("excluded", f"no longer excluding factory {f}", (f,)),
                ),
            )
        )
    for pkg in problem.packages:
        if pkg.id in elig.removed:
            code, words = elig.removed[pkg.id]
            due = _due_finding(problem, pkg, earliest) if code in ("earliest_start", "capacity") else None
            if due is not None:
                out.append(due)
                continue
            out.append(
                (Reason("no_eligible_factory", words, (pkg.id, code)), _eligibility_relaxations(problem, pkg))
            )
    eligible_factories = {p.factory.id for ps in elig.eligible.values() for p in ps}
    for f in sorted(pol.pinned - pol.excluded - eligible_factories):
        out.append(
            (
                Reason("pinned_not_eligible", f"pinned factory {f} is not eligible for any package", (f,)),
                (Relaxation("pinned", f"unpinning factory {f}", (f,)),),
            )
        )
    fixed_findings, fixed_packages = _fixed_findings(problem, elig)
    out.extend(fixed_findings)
    for pkg in problem.packages:
        pairs = elig.eligible.get(pkg.id, ())
        if pairs and pkg.id not in fixed_packages:
            finding = _shortage(problem, pkg, pairs, earliest)
            if finding is not None:
                out.append(finding)
    n_eligible = len(eligible_factories)
    if pol.max_members is not None:
        if pol.max_members < 1:
            out.append(
                (
                    Reason("max_members", "the policy allows no member at all", ("max_members",)),
                    (
                        Relaxation(
                            "max_members",
                            f"raising max members to {max(1, members_needed(elig.eligible))}",
                            (),
                        ),
                    ),
                )
            )
        if pol.min_members is not None and pol.min_members > pol.max_members:
            out.append(
                (
                    Reason(
                        "min_members",
                        f"the policy requires at least {pol.min_members} but at most "
                        f"{pol.max_members} members",
                        ("min_members", "max_members"),
                    ),
                    (
                        Relaxation("min_members", f"lowering min members to {pol.max_members}", ()),
                        Relaxation("max_members", f"raising max members to {pol.min_members}", ()),
                    ),
                )
            )
        if len(pol.pinned) > pol.max_members:
            out.append(
                (
                    Reason(
                        "max_members",
                        f"{len(pol.pinned)} factories are pinned but at most {pol.max_members} "
                        "member(s) allowed",
                        ("max_members", "pinned"),
                    ),
                    (Relaxation("max_members", f"raising max members to {len(pol.pinned)}", ()),),
                )
            )
    share_needs = math.ceil(1 / pol.max_share - 1e-9) if pol.max_share else 0
    needed = max(pol.min_members or 0, share_needs)
    if needed > n_eligible:
        rule = "min_members" if (pol.min_members or 0) >= needed else "max_share"
        fix = (
            Relaxation("min_members", f"lowering min members to {n_eligible}", ())
            if rule == "min_members"
            else Relaxation(
                "max_share", f"raising the max share to {math.ceil(100 / max(1, n_eligible))}%", ()
            )
        )
        out.append(
            (
                Reason(
                    rule,
                    f"the policy needs at least {needed} members but only {n_eligible} factories "
                    "are eligible",
                    (rule,),
                ),
                (fix,),
            )
        )
    if pol.max_share and pol.max_members is not None and share_needs > pol.max_members:
        out.append(
            (
                Reason(
                    "max_share",
                    f"a max share of {pol.max_share:.0%} needs at least {share_needs} "
                    f"members but at most {pol.max_members} are allowed",
                    ("max_share", "max_members"),
                ),
                (
                    Relaxation("max_members", f"raising max members to {share_needs}", ()),
                    Relaxation(
                        "max_share",
                        f"raising the max share to {math.ceil(100 / max(1, pol.max_members))}%",
                        (),
                    ),
                ),
            )
        )
    lead = pol.lead_certification
    if lead is not None and not any(
        lead in problem.factory_by_id[f].certifications for f in eligible_factories
    ):
        holders = sorted(f.id for f in problem.factories if lead in f.certifications)
        blocked = (
            f"; factories holding it are not eligible for any package: {', '.join(holders[:5])}"
            if holders
            else ""
        )
        out.append(
            (
                Reason(
                    "lead",
                    f"no eligible factory holds {lead}, required of the lead factory{blocked}",
                    ("lead",),
                ),
                (Relaxation("lead", f"dropping the {lead} lead requirement", ()),),
            )
        )
    return out


def precheck_explanation(findings: list[Finding]) -> Explanation:
    """The explanation of the pre-checks' findings; says so when a finding has no relaxation."""
    reasons = tuple(r for r, _ in findings)
    relaxations = tuple(dict.fromkeys(x for _, rs in findings for x in rs))  # each change once
    summary = "No consortium is possible: " + "; ".join(r.message for r in reasons) + "."
    if relaxations:
        summary += " To make it feasible: " + "; or ".join(x.message for x in relaxations) + "."
    bare = [r for r, rs in findings if not rs]
    if bare:
        summary += (
            " No single change of the rules was found for: "
            + "; ".join(r.subjects[0] for r in bare if r.subjects)
            + "."
        )
    return Explanation(summary, reasons, relaxations)


# ------------------------------------------------------------------------------------ assumption cores


def _check(b: Built, assumed: list[Group], time_limit_s: float, seed: int, det: float | None) -> int:
    b.model.clear_assumptions()
    b.model.add_assumptions([b.groups[g] for g in assumed])
    solver = _explain_solver(time_limit_s, seed, det)
    return int(solver.solve(b.model))


def _explain_solver(time_limit_s: float, seed: int, det: float | None) -> cp_model.CpSolver:
    """A single-worker solver; ``det`` bounds it by CP-SAT's deterministic time as well."""
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.05, time_limit_s)
    if det is not None:
        solver.parameters.max_deterministic_time = det
    solver.parameters.num_workers = 1  # cores from assumptions need a single worker
    solver.parameters.random_seed = seed
    return solver


def _core(b: Built, deadline: float, seed: int, det: float | None) -> list[Group] | None:
    """A minimal set of groups that conflict, or ``None`` if none was found in time."""
    groups = sorted(b.groups)
    b.model.clear_assumptions()
    b.model.add_assumptions([b.groups[g] for g in groups])
    solver = _explain_solver(max(0.1, (deadline - time.perf_counter()) / 2), seed, det)
    if solver.solve(b.model) != cp_model.INFEASIBLE:
        return None
    by_index = {b.groups[g].index: g for g in groups}
    core = sorted(by_index[i] for i in solver.sufficient_assumptions_for_infeasibility() if i in by_index)
    if not core:
        return []
    # Deletion: drop every group whose removal keeps the rest infeasible.
    for checks, g in enumerate(list(core)):
        if len(core) == 1 or checks >= MAX_DELETION_CHECKS or time.perf_counter() > deadline:
            break
        trial = [x for x in core if x != g]
        left = max(0.05, (deadline - time.perf_counter()) / max(2, len(core)))
        if _check(b, trial, left, seed, det) == cp_model.INFEASIBLE:
            core = trial
    return core


def _reason(problem: Problem, elig: Eligibility, group: Group) -> Reason:
    kind = group[0]
    pol = problem.policy
    if kind == "cover":
        pkg = problem.package_by_id[group[1]]
        return Reason("coverage", f"{describe_package(pkg)} must be fully covered", group[1:])
    if kind == "capacity":
        f, process, week = group[1], group[2], int(group[3])
        hours = problem.capacity_by_bucket.get((f, process), {}).get(week, 0.0)
        text = f"factory {f} has {hours:,.0f} h of {process} free in {iso_week(problem.origin, week)}"
        return Reason("capacity", text, group[1:])
    if kind == "due":
        return Reason("due_date", _due_words(problem, elig, group[1]), group[1:])
    if kind == "max_members":
        return Reason("max_members", f"at most {pol.max_members} member(s) allowed", ())
    if kind == "min_members":
        return Reason("min_members", f"at least {pol.min_members} member(s) required", ())
    if kind == "max_share":
        return Reason(
            "max_share", f"no member may take more than {pol.max_share:.0%} of the production value", ()
        )
    if kind == "pinned":
        return Reason("pinned", f"factory {group[1]} is pinned as a member", group[1:])
    if kind == "fixed":
        fa = problem.fixed_by_pair[group[1], group[2]]
        return Reason("fixed_assignment", f"{_share(problem, fa)} is kept", group[1:])
    if kind == "lead":
        return Reason("lead", f"a member must hold {pol.lead_certification} to lead", ())
    return Reason(kind, " ".join(group), group[1:])


def _due_words(problem: Problem, elig: Eligibility, line: str) -> str:
    """``line 3 'shaft' must finish by …; its grinding needs 1,240 h, eligible factories have 860 h free``."""
    pkgs = [p for p in problem.lines[line] if p.due_day is not None]
    due = max(p.due_day for p in pkgs if p.due_day is not None)
    text = f"{_line_name(problem, line)} must finish by {week_label(problem.origin, due)}"
    worst: tuple[float, str] | None = None
    for pkg in problem.lines[line]:
        pairs = elig.eligible.get(pkg.id, ())
        if not pairs:
            continue
        need = min(p.need_mh(pkg.quantity) for p in pairs)
        have = sum(p.window_mh for p in pairs)
        ratio = need / max(1, have)
        words = f"its {pkg.process} needs {_h(need)}, eligible factories have {_h(have)} free before then"
        if worst is None or ratio > worst[0]:
            worst = (ratio, words)
    return text if worst is None else f"{text}; {worst[1]}"


def _relaxation(
    problem: Problem, b: Built, group: Group, limit: float, seed: int, det: float | None
) -> Relaxation | None:
    """Solve with every group but ``group``; if feasible, say how far ``group`` must be relaxed."""
    model = b.model.clone()

    def var(v: cp_model.IntVar) -> cp_model.IntVar:
        return model.get_int_var_from_proto_index(v.index)

    model.clear_assumptions()
    for g, lit in b.groups.items():
        model.add(var(lit) == (0 if g == group else 1))
    kind = group[0]
    pol = problem.policy
    used = {k: var(u) for k, u in b.u.items()}
    if kind == "due":
        ends = [(k, var(b.end[k])) for k in b.end if b.pairs[k].package.line == group[1]]
        last = model.new_int_var(0, b.horizon_day, "line_end")
        for k, e in ends:
            model.add(last >= e).only_enforce_if(used[k])
        model.minimize(last)
    elif kind == "fixed":
        fa = problem.fixed_by_pair[group[1], group[2]]
        if fa.key in b.pairs:
            fixed_share = b.q[fa.key]  # the clone keeps the variables' indices
            model.add(fixed_share <= fa.quantity)
            if fa.key in b.end:  # as much of the share as fits, then ending as early as possible
                model.maximize((b.horizon_day + 1) * fixed_share - var(b.end[fa.key]))
            else:
                model.maximize(fixed_share)
    elif kind in ("max_members", "min_members"):
        members = cp_model.LinearExpr.sum([var(m) for m in b.member.values()])
        if kind == "max_members":
            model.minimize(members)
        else:
            model.maximize(members)
    elif kind == "cover":
        covered = cp_model.LinearExpr.sum([b.q[k] for k in b.pairs if k[1] == group[1]])
        model.add(covered <= problem.package_by_id[group[1]].quantity)
        model.maximize(covered)
    elif kind == "capacity":
        hours: list[cp_model.LinearExpr] = [
            var(h)
            for (f, pid, w), h in b.hours.items()
            if f == group[1] and str(w) == group[3] and b.pairs[f, pid].package.process == group[2]
        ]
        # the clone keeps the variables' indices, so the built model's expressions apply to it
        hours += [
            hours_expr(b, k)
            for k in b.pairs
            if not b.scheduled and k[0] == group[1] and b.pairs[k].package.process == group[2]
        ]
        model.minimize(cp_model.LinearExpr.sum(hours))
    solver = _explain_solver(limit, seed, det)
    solver.parameters.num_workers = 2
    status = solver.solve(model)
    if status == cp_model.UNKNOWN and kind == "fixed":
        # no answer in time: without this share the rest of the conflict is consistent (the core says so)
        return _release(problem, problem.fixed_by_pair[group[1], group[2]], checked=False)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    if kind == "due":
        day = int(solver.objective_value)
        return Relaxation(
            "due_date",
            f"relaxing the due date of {_line_name(problem, group[1])} to {week_label(problem.origin, day)}",
            group[1:],
        )
    if kind == "max_members":
        return Relaxation("max_members", f"raising max members to {int(solver.objective_value)}", ())
    if kind == "min_members":
        return Relaxation("min_members", f"lowering min members to {int(solver.objective_value)}", ())
    if kind == "capacity":
        cap = problem.capacity_by_bucket.get((group[1], group[2]), {}).get(int(group[3]), 0.0)
        more = max(0.0, solver.objective_value / 1000 - cap)
        return Relaxation(
            "capacity",
            f"{math.ceil(more):,} more free h of {group[2]} at {group[1]} in "
            f"{iso_week(problem.origin, int(group[3]))}",
            group[1:],
        )
    if kind == "pinned":
        return Relaxation("pinned", f"unpinning factory {group[1]}", group[1:])
    if kind == "fixed":
        fa = problem.fixed_by_pair[group[1], group[2]]
        kept = round(solver.value(b.q[fa.key])) if fa.key in b.pairs else 0
        subjects = (fa.factory, fa.package)
        if kept >= fa.quantity and fa.pinned_days and fa.key in b.start:
            begins = date_of(problem.origin, int(solver.value(b.start[fa.key]))).isoformat()
            until = date_of(problem.origin, int(solver.value(b.end[fa.key]))).isoformat()
            return Relaxation(
                "fixed_assignment",
                f"moving the pinned days of {_share(problem, fa)} to {begins} – {until}"
                + (" (the earliest end that fits)" if status == cp_model.OPTIMAL else " (they fit)"),
                subjects,
            )
        if 0 < kept < fa.quantity:
            return Relaxation(
                "fixed_assignment",
                f"lowering factory {fa.factory}'s fixed share of package {fa.package} from {fa.quantity:,} "
                f"to {kept:,} units",
                subjects,
            )
        return _release(problem, fa)
    if kind == "cover":
        units = round(solver.objective_value)
        if units <= 0:
            return None
        return Relaxation(
            "quantity", f"lowering the quantity of package {group[1]} to {units:,} units", group[1:]
        )
    if kind == "lead":
        return Relaxation("lead", f"dropping the {pol.lead_certification} lead requirement", ())
    if kind == "max_share":
        value: dict[str, int] = defaultdict(int)
        for k in b.pairs:
            if solver.boolean_value(used[k]):
                qty = solver.value(var(b.q_var[k])) if k in b.q_var else b.pairs[k].package.quantity
                value[k[0]] += b.pairs[k].offer.unit_price * qty
        share = max(value.values(), default=0) / max(1, sum(value.values()))
        return Relaxation("max_share", f"raising the max share to {math.ceil(share * 100)}%", ())
    return None


def explain_infeasible(
    problem: Problem,
    elig: Eligibility,
    *,
    time_limit_s: float,
    seed: int = 0,
    deterministic_time_s: float | None = None,
) -> Explanation:
    """Explain why no consortium exists over the eligible pairs (pre-checks already passed).

    ``deterministic_time_s`` bounds each CP-SAT search by deterministic time as well (see ``solve``).
    """
    det = deterministic_time_s
    deadline = time.perf_counter() + time_limit_s
    # With fixed assignments the model is built over the pairs eligible without them: releasing or lowering
    # a fixed share (its group) then lets the other factories take its units, as it would in practice.
    pairs = analyse(replace(problem, fixed=()), None).eligible if problem.fixed else elig.eligible
    b = build_model(problem, pairs, explain=True)
    core = _core(b, deadline - 0.3 * time_limit_s, seed, det)
    if core is None:
        return Explanation(
            "No consortium satisfies every rule, but the conflicting rules could not be isolated within the "
            "time limit; try a longer time limit, later due dates or fewer policy rules."
        )
    if not core:
        return Explanation(
            "No consortium exists even without due dates, capacities and policy rules: the routings, "
            "earliest starts and minimum lots of the eligible offers cannot be combined."
        )
    reasons = _merge_capacity([_reason(problem, elig, g) for g in core])
    relaxable = sorted((g for g in core if g[0] in _RELAX_ORDER), key=lambda g: (_RELAX_ORDER[g[0]], g))
    relaxations: list[Relaxation] = []
    trials = relaxable[:MAX_RELAXATION_TRIALS]
    for g in trials:
        left = deadline - time.perf_counter()
        if left <= 0.05:
            break
        r = _relaxation(problem, b, g, left / max(1, len(trials)), seed, det)
        if r is not None:
            relaxations.append(r)
    if not relaxations and any(g[0] == "fixed" for g in core):
        left = deadline - time.perf_counter()
        combined = _release_with_due(problem, b, core, max(0.05, left), seed, det)
        if combined is not None:
            relaxations.append(combined)
    summary = (
        "No consortium satisfies all rules. These conflict: " + "; ".join(r.message for r in reasons) + "."
    )
    if relaxations:
        summary += " " + _capitalise(" or ".join(r.message for r in relaxations)) + " would make it feasible."
    else:
        summary += " No single relaxation that would make it feasible was found within the time limit."
    return Explanation(summary, tuple(reasons), tuple(relaxations))


def _release_with_due(
    problem: Problem, b: Built, core: list[Group], limit: float, seed: int, det: float | None
) -> Relaxation | None:
    """When no single group's relaxation suffices: release every fixed share of the core together and, where
    their lines have hard due dates, say which due date would then work (the earliest a solve finds)."""
    shares = [problem.fixed_by_pair[g[1], g[2]] for g in core if g[0] == "fixed"]
    lines = sorted({problem.package_by_id[fa.package].line for fa in shares})
    dropped = {("fixed", fa.factory, fa.package) for fa in shares} | {
        ("due", line) for line in lines if ("due", line) in b.groups
    }
    model = b.model.clone()
    model.clear_assumptions()

    def var(v: cp_model.IntVar) -> cp_model.IntVar:
        return model.get_int_var_from_proto_index(v.index)

    for g, lit in b.groups.items():
        model.add(var(lit) == (0 if g in dropped else 1))
    due_lines = [line for line in lines if ("due", line) in dropped]
    last = model.new_int_var(0, b.horizon_day, "relaxed_end")
    for k, e in b.end.items():
        if b.pairs[k].package.line in due_lines:
            model.add(last >= var(e)).only_enforce_if(var(b.u[k]))
    model.minimize(last)
    solver = _explain_solver(limit, seed, det)
    solver.parameters.num_workers = 2
    if solver.solve(model) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    names = " and ".join(_share(problem, fa) for fa in shares)
    text = f"releasing {names} together"
    if due_lines:
        day = week_label(problem.origin, int(solver.value(last)))
        text += " with relaxing the due date of " + " and ".join(_line_name(problem, ln) for ln in due_lines)
        text += f" to {day}"
    return Relaxation("fixed_assignment", text, (*(x for fa in shares for x in fa.key), *due_lines))


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _merge_capacity(reasons: list[Reason]) -> list[Reason]:
    """Put all capacity reasons of one process together: ``factories A, B have 860 h of grinding free``."""
    caps: dict[str, list[Reason]] = defaultdict(list)
    out: list[Reason] = []
    for r in reasons:
        if r.code == "capacity":
            caps[r.subjects[1]].append(r)
        else:
            out.append(r)
    for process, rs in sorted(caps.items()):
        if len(rs) == 1:
            out.append(rs[0])
            continue
        factories = sorted({r.subjects[0] for r in rs})
        subjects = tuple(s for r in rs for s in r.subjects)
        text = (
            "the free "
            + process
            + " hours of "
            + ", ".join(factories)
            + " ("
            + "; ".join(r.message.split(" has ", 1)[1] for r in rs)
            + ")"
        )
        out.append(Reason("capacity", text, subjects))
    return out
