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

from ortools.sat.python import cp_model

from solver.dates import iso_week, week_label
from solver.eligibility import Eligibility, PairData, describe_package
from solver.model import Built, Group, build_model
from solver.problem import Problem, WorkPackage
from solver.solution import Explanation, Reason, Relaxation

__all__ = ["explain_infeasible", "precheck"]

MAX_DELETION_CHECKS = 40
MAX_RELAXATION_TRIALS = 6
_RELAX_ORDER = {
    "due": 0,
    "max_members": 1,
    "pinned": 2,
    "lead": 3,
    "max_share": 4,
    "min_members": 5,
    "capacity": 6,
}


def _h(mh: float) -> str:
    return f"{mh / 1000:,.0f} h"


def _line_name(problem: Problem, line: str) -> str:
    part = next((p.part for p in problem.lines[line] if p.part), "")
    return f"line {line}" + (f" '{part}'" if part else "")


def _shortage(problem: Problem, pkg: WorkPackage, pairs: tuple[PairData, ...]) -> Reason | None:
    """Can the eligible factories together make the package's quantity in their free hours?"""
    units = sum(p.unit_capacity for p in pairs)
    if units >= pkg.quantity:
        return None
    need = min(p.setup_mh + p.unit_mh * pkg.quantity for p in pairs)
    free: dict[str, int] = {}
    for p in pairs:
        free[p.factory.id] = p.window_mh
    have = sum(free.values())
    by = f" by {week_label(problem.origin, pkg.due_day)}" if pkg.due_day is not None else ""
    text = (
        f"{_line_name(problem, pkg.line)} {pkg.process} (package {pkg.id}, {pkg.quantity:,} units): "
        f"{_h(need)} needed{by}, eligible factories have {_h(have)} free"
    )
    if have < need:
        text += f" ({_h(need - have)} short)"
    else:
        text += f" but can make only {units:,} of the {pkg.quantity:,} units (setups, lots and offer limits)"
    return Reason("capacity_before_due", text, (pkg.id, *sorted(free)))


def precheck(problem: Problem, elig: Eligibility) -> list[Reason]:
    """Obvious infeasibility found without a solver (empty if none)."""
    pol = problem.policy
    out: list[Reason] = []
    for f in sorted(pol.pinned & pol.excluded):
        out.append(Reason("pinned_excluded", f"factory {f} is both pinned and excluded by the policy", (f,)))
    for pkg in problem.packages:
        if pkg.id in elig.removed:
            code, words = elig.removed[pkg.id]
            out.append(Reason("no_eligible_factory", words, (pkg.id, code)))
    eligible_factories = {p.factory.id for ps in elig.eligible.values() for p in ps}
    for f in sorted(pol.pinned - pol.excluded - eligible_factories):
        out.append(Reason("pinned_not_eligible", f"pinned factory {f} is not eligible for any package", (f,)))
    for pkg in problem.packages:
        pairs = elig.eligible.get(pkg.id, ())
        if pairs:
            reason = _shortage(problem, pkg, pairs)
            if reason is not None:
                out.append(reason)
    n_eligible = len(eligible_factories)
    if pol.max_members is not None:
        if pol.max_members < 1:
            out.append(Reason("max_members", "the policy allows no member at all", ("max_members",)))
        if pol.min_members is not None and pol.min_members > pol.max_members:
            out.append(
                Reason(
                    "min_members",
                    f"the policy requires at least {pol.min_members} but at most {pol.max_members} members",
                    ("min_members", "max_members"),
                )
            )
        if len(pol.pinned) > pol.max_members:
            out.append(
                Reason(
                    "max_members",
                    f"{len(pol.pinned)} factories are pinned but at most {pol.max_members} member(s) allowed",
                    ("max_members", "pinned"),
                )
            )
    needed = max(pol.min_members or 0, math.ceil(1 / pol.max_share - 1e-9) if pol.max_share else 0)
    if needed > n_eligible:
        rule = "min_members" if (pol.min_members or 0) >= needed else "max_share"
        out.append(
            Reason(
                rule,
                f"the policy needs at least {needed} members but only {n_eligible} factories are eligible",
                (rule,),
            )
        )
    if (
        pol.max_share
        and pol.max_members is not None
        and math.ceil(1 / pol.max_share - 1e-9) > pol.max_members
    ):
        out.append(
            Reason(
                "max_share",
                f"a max share of {pol.max_share:.0%} needs at least {math.ceil(1 / pol.max_share - 1e-9)} "
                f"members but at most {pol.max_members} are allowed",
                ("max_share", "max_members"),
            )
        )
    if pol.lead_certification is not None and not any(
        pol.lead_certification in problem.factory_by_id[f].certifications for f in eligible_factories
    ):
        out.append(
            Reason(
                "lead",
                f"no eligible factory holds {pol.lead_certification}, required of the lead factory",
                ("lead",),
            )
        )
    return out


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
        need = min(p.setup_mh + p.unit_mh * pkg.quantity for p in pairs)
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
    elif kind in ("max_members", "min_members"):
        members = cp_model.LinearExpr.sum([var(m) for m in b.member.values()])
        if kind == "max_members":
            model.minimize(members)
        else:
            model.maximize(members)
    elif kind == "capacity":
        hours: list[cp_model.LinearExpr] = [
            var(h)
            for (f, pid, w), h in b.hours.items()
            if f == group[1] and str(w) == group[3] and b.pairs[f, pid].package.process == group[2]
        ]
        hours += [
            b.pairs[k].setup_mh * used[k] + b.pairs[k].unit_mh * var(b.q_var[k])
            if k in b.q_var
            else (b.pairs[k].setup_mh + b.pairs[k].unit_mh * b.pairs[k].package.quantity) * used[k]
            for k in b.pairs
            if not b.scheduled and k[0] == group[1] and b.pairs[k].package.process == group[2]
        ]
        model.minimize(cp_model.LinearExpr.sum(hours))
    solver = _explain_solver(limit, seed, det)
    solver.parameters.num_workers = 2
    status = solver.solve(model)
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
    b = build_model(problem, elig.eligible, explain=True)
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
    summary = (
        "No consortium satisfies all rules. These conflict: " + "; ".join(r.message for r in reasons) + "."
    )
    if relaxations:
        summary += " " + _capitalise(" or ".join(r.message for r in relaxations)) + " would make it feasible."
    return Explanation(summary, tuple(reasons), tuple(relaxations))


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
