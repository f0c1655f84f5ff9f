"""The JSON form of problems and solutions (documented in ``docs/solver-format.md``).

Dates are ISO dates (``2026-11-27``), weeks ISO weeks (``2026-W48``); both are converted to indices relative
to the problem's ``origin``. Loading checks every field and raises :class:`ProblemError` naming it
(``offers[3].unit_price``); unknown fields are errors too, so typos do not pass silently.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Any, NoReturn

from solver.dates import date_of, day_of, iso_week, week_of
from solver.problem import (
    DEFAULT_ORIGIN,
    Capacity,
    Collaboration,
    Factory,
    FixedAssignment,
    Offer,
    Policy,
    Problem,
    ProblemError,
    TransportLink,
    WorkPackage,
)
from solver.solution import (
    STATUSES,
    Assignment,
    CostBreakdown,
    Explanation,
    Reason,
    Relaxation,
    Solution,
)

__all__ = [
    "PROBLEM_FORMAT",
    "SOLUTION_FORMAT",
    "dumps",
    "problem_from_json",
    "problem_to_json",
    "solution_from_json",
    "solution_to_json",
]

PROBLEM_FORMAT = "machikoba.problem/1"
SOLUTION_FORMAT = "machikoba.solution/1"

_MISSING: Any = object()


def _fail(path: str, message: str) -> NoReturn:
    raise ProblemError(path, message)


class _Obj:
    """A JSON object being read: typed getters that name the field on error, and a check for extras."""

    def __init__(self, value: object, path: str) -> None:
        if not isinstance(value, Mapping):
            _fail(path or "(document)", "must be a JSON object")
        self.value: Mapping[str, Any] = value
        self.path = path
        self.seen: set[str] = set()

    def _at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def raw(self, key: str, default: Any = _MISSING) -> Any:
        self.seen.add(key)
        if key not in self.value or self.value[key] is None:
            if default is _MISSING:
                _fail(self._at(key), "is required")
            return default
        return self.value[key]

    def text(self, key: str, default: Any = _MISSING) -> Any:
        v = self.raw(key, default)
        if v is not default and not isinstance(v, str):
            _fail(self._at(key), "must be a string")
        return v

    def integer(self, key: str, default: Any = _MISSING) -> Any:
        v = self.raw(key, default)
        if v is not default and (isinstance(v, bool) or not isinstance(v, int)):
            _fail(self._at(key), f"must be an integer (got {v!r})")
        return v

    def number(self, key: str, default: Any = _MISSING) -> Any:
        v = self.raw(key, default)
        if v is default:
            return v
        if isinstance(v, bool) or not isinstance(v, int | float):
            _fail(self._at(key), f"must be a number (got {v!r})")
        return float(v)

    def flag(self, key: str, default: Any = _MISSING) -> Any:
        v = self.raw(key, default)
        if v is not default and not isinstance(v, bool):
            _fail(self._at(key), "must be true or false")
        return v

    def array(self, key: str, default: Any = _MISSING) -> list[Any]:
        v = self.raw(key, default)
        if not isinstance(v, list):
            _fail(self._at(key), "must be a JSON array")
        return v

    def strings(self, key: str) -> frozenset[str]:
        items = self.array(key, [])
        for i, s in enumerate(items):
            if not isinstance(s, str):
                _fail(f"{self._at(key)}[{i}]", "must be a string")
        return frozenset(items)

    def string_list(self, key: str) -> tuple[str, ...]:
        items = self.array(key, [])
        for i, s in enumerate(items):
            if not isinstance(s, str):
                _fail(f"{self._at(key)}[{i}]", "must be a string")
        return tuple(items)

    def date(self, key: str, default: Any = _MISSING) -> Any:
        v = self.text(key, default)
        if v is default:
            return v
        try:
            return date.fromisoformat(v)
        except ValueError:
            _fail(self._at(key), f"must be an ISO date like 2026-11-27 (got {v!r})")

    def obj(self, key: str, default: Any = _MISSING) -> _Obj:
        return _Obj(self.raw(key, default), self._at(key))

    def items(self, key: str, default: Any = _MISSING) -> list[_Obj]:
        return [_Obj(v, f"{self._at(key)}[{i}]") for i, v in enumerate(self.array(key, default))]

    def done(self) -> None:
        extra = sorted(set(self.value) - self.seen)
        if extra:
            _fail(self._at(extra[0]), "unknown field")


def _parse(data: str | bytes | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(data, str | bytes):
        try:
            parsed = json.loads(data)
        except json.JSONDecodeError as exc:
            _fail("(document)", f"not valid JSON: {exc}")
        if not isinstance(parsed, Mapping):
            _fail("(document)", "must be a JSON object")
        return parsed
    return data


def _format(doc: _Obj, expected: str) -> None:
    fmt = doc.text("format", expected)
    if fmt != expected:
        _fail("format", f"expected {expected!r}, got {fmt!r}")


# ------------------------------------------------------------------------------------------- problem


def problem_from_json(data: str | bytes | Mapping[str, Any]) -> Problem:
    """Load a problem from its JSON form (text or parsed); raises :class:`ProblemError`."""
    doc = _Obj(_parse(data), "")
    _format(doc, PROBLEM_FORMAT)
    origin: date = doc.date("origin", DEFAULT_ORIGIN)
    if origin.weekday() != 0:
        _fail("origin", f"must be a Monday (got {origin.isoformat()})")

    def day(o: _Obj, key: str, default: Any = _MISSING) -> Any:
        d = o.date(key, default)
        return d if d is default or d is None else day_of(origin, d)

    factories = []
    for o in doc.items("factories"):
        factories.append(
            Factory(o.text("id"), o.text("prefecture"), o.text("cluster", ""), o.strings("certifications"))
        )
        o.done()
    packages = []
    for o in doc.items("packages"):
        packages.append(
            WorkPackage(
                id=o.text("id"),
                line=o.text("line"),
                operation=o.integer("operation"),
                process=o.text("process"),
                quantity=o.integer("quantity"),
                splittable=o.flag("splittable", True),
                min_lot=o.integer("min_lot", 1),
                due_day=day(o, "due", None),
                required_certifications=o.strings("required_certifications"),
                part=o.text("part", ""),
            )
        )
        o.done()
    offers = []
    for o in doc.items("offers"):
        offers.append(
            Offer(
                factory=o.text("factory"),
                package=o.text("package"),
                unit_price=o.integer("unit_price"),
                setup_cost=o.integer("setup_cost", 0),
                hours_per_unit=o.number("hours_per_unit", 0.0),
                setup_hours=o.number("setup_hours", 0.0),
                max_quantity=o.integer("max_quantity", None),
                earliest_start_day=day(o, "earliest_start", 0),
                firm=o.flag("firm", True),
            )
        )
        o.done()
    capacity = []
    for o in doc.items("capacity", []):
        text = o.text("week")
        try:
            week = week_of(origin, text)
        except ValueError as exc:
            _fail(f"{o.path}.week", str(exc))
        capacity.append(Capacity(o.text("factory"), o.text("process"), week, o.number("hours")))
        o.done()
    tr = doc.obj("transport", {})
    links = []
    for o in tr.items("links", []):
        links.append(TransportLink(o.text("from"), o.text("to"), o.integer("days"), o.integer("cost")))
        o.done()
    default_days, default_cost = tr.integer("default_days", 1), tr.integer("default_cost", 0)
    tr.done()
    collaborations = []
    for o in doc.items("collaborations", []):
        pair = o.array("factories")
        if len(pair) != 2 or not all(isinstance(f, str) for f in pair):
            _fail(f"{o.path}.factories", "must hold two factory ids")
        collaborations.append(Collaboration(pair[0], pair[1], o.number("weight", 1.0)))
        o.done()
    p = doc.obj("policy", {})
    policy = Policy(
        preset=p.text("preset", "cheapest"),
        max_members=p.integer("max_members", None),
        min_members=p.integer("min_members", None),
        max_share=p.number("max_share", None),
        pinned=p.strings("pinned"),
        excluded=p.strings("excluded"),
        lead_certification=p.text("lead_certification", None),
        coordination_cost=p.integer("coordination_cost", 0),
        lateness_penalty_per_day=p.integer("lateness_penalty_per_day", None),
        cohesion_bonus=p.integer("cohesion_bonus", 0),
    )
    p.done()
    fixed = []
    for o in doc.items("fixed", []):
        fixed.append(
            FixedAssignment(
                factory=o.text("factory"),
                package=o.text("package"),
                quantity=o.integer("quantity"),
                start_day=o.integer("start_day", None),
                end_day=o.integer("end_day", None),
            )
        )
        o.done()
    name = doc.text("name", "")
    doc.done()
    return Problem(
        factories=tuple(factories),
        packages=tuple(packages),
        offers=tuple(offers),
        capacity=tuple(capacity),
        transport=tuple(links),
        default_transport_days=default_days,
        default_transport_cost=default_cost,
        collaborations=tuple(collaborations),
        policy=policy,
        origin=origin,
        name=name,
        fixed=tuple(fixed),
    )


def problem_to_json(problem: Problem) -> dict[str, Any]:
    """The JSON form of ``problem`` (every field explicit, but ``fixed`` only when there are fixed
    assignments and their ``start_day``/``end_day`` only when pinned: a problem without them writes as
    before)."""
    origin = problem.origin

    def iso(day: int | None) -> str | None:
        return None if day is None else date_of(origin, day).isoformat()

    pol = problem.policy
    out = {
        "format": PROBLEM_FORMAT,
        "name": problem.name,
        "origin": origin.isoformat(),
        "factories": [
            {
                "id": f.id,
                "prefecture": f.prefecture,
                "cluster": f.cluster,
                "certifications": sorted(f.certifications),
            }
            for f in problem.factories
        ],
        "packages": [
            {
                "id": p.id,
                "line": p.line,
                "part": p.part,
                "operation": p.operation,
                "process": p.process,
                "quantity": p.quantity,
                "splittable": p.splittable,
                "min_lot": p.min_lot,
                "due": iso(p.due_day),
                "required_certifications": sorted(p.required_certifications),
            }
            for p in problem.packages
        ],
        "offers": [
            {
                "factory": o.factory,
                "package": o.package,
                "unit_price": o.unit_price,
                "setup_cost": o.setup_cost,
                "hours_per_unit": o.hours_per_unit,
                "setup_hours": o.setup_hours,
                "max_quantity": o.max_quantity,
                "earliest_start": iso(o.earliest_start_day),
                "firm": o.firm,
            }
            for o in problem.offers
        ],
        "capacity": [
            {"factory": c.factory, "process": c.process, "week": iso_week(origin, c.week), "hours": c.hours}
            for c in problem.capacity
        ],
        "transport": {
            "default_days": problem.default_transport_days,
            "default_cost": problem.default_transport_cost,
            "links": [
                {"from": t.from_prefecture, "to": t.to_prefecture, "days": t.days, "cost": t.cost}
                for t in problem.transport
            ],
        },
        "collaborations": [
            {"factories": [c.factory_a, c.factory_b], "weight": c.weight} for c in problem.collaborations
        ],
        "policy": {
            "preset": pol.preset,
            "max_members": pol.max_members,
            "min_members": pol.min_members,
            "max_share": pol.max_share,
            "pinned": sorted(pol.pinned),
            "excluded": sorted(pol.excluded),
            "lead_certification": pol.lead_certification,
            "coordination_cost": pol.coordination_cost,
            "lateness_penalty_per_day": pol.lateness_penalty_per_day,
            "cohesion_bonus": pol.cohesion_bonus,
        },
    }
    if problem.fixed:
        out["fixed"] = [_fixed_to_json(fa) for fa in problem.fixed]
    return out


def _fixed_to_json(fa: FixedAssignment) -> dict[str, Any]:
    out: dict[str, Any] = {"factory": fa.factory, "package": fa.package, "quantity": fa.quantity}
    if fa.start_day is not None:
        out["start_day"] = fa.start_day
    if fa.end_day is not None:
        out["end_day"] = fa.end_day
    return out


# ------------------------------------------------------------------------------------------ solution


def solution_to_json(solution: Solution) -> dict[str, Any]:
    """The JSON form of ``solution``; ``start_week``/``end_week``/``total`` are derived (ignored on load)."""
    origin = solution.origin

    def iso(day: int | None) -> str | None:
        return None if day is None else date_of(origin, day).isoformat()

    costs = solution.costs
    expl = solution.explanation
    return {
        "format": SOLUTION_FORMAT,
        "status": solution.status,
        "preset": solution.preset,
        "origin": origin.isoformat(),
        "objective": solution.objective,
        "bound": solution.bound,
        "gap": solution.gap,
        "wall_s": solution.wall_s,
        "first_solution_s": solution.first_solution_s,
        "pruned": solution.pruned,
        "members": list(solution.members),
        "lead": solution.lead,
        "completion": iso(solution.completion_day),
        "lines": {line: iso(day) for line, day in solution.line_completion.items()},
        "costs": None
        if costs is None
        else {
            "production": costs.production,
            "setup": costs.setup,
            "transport": costs.transport,
            "coordination": costs.coordination,
            "cohesion": costs.cohesion,
            "lateness": costs.lateness,
            "total": costs.total,
        },
        "assignments": [
            {
                "factory": a.factory,
                "package": a.package,
                "quantity": a.quantity,
                "start": iso(a.start_day),
                "end": iso(a.end_day),
                "start_week": iso_week(origin, a.start_week),
                "end_week": iso_week(origin, a.end_week),
                "hours": {iso_week(origin, w): h for w, h in a.hours},
            }
            for a in solution.assignments
        ],
        "explanation": None
        if expl is None
        else {
            "summary": expl.summary,
            "reasons": [
                {"code": r.code, "message": r.message, "subjects": list(r.subjects)} for r in expl.reasons
            ],
            "relaxations": [
                {"code": r.code, "message": r.message, "subjects": list(r.subjects)} for r in expl.relaxations
            ],
        },
    }


def solution_from_json(data: str | bytes | Mapping[str, Any]) -> Solution:
    """Load a solution from its JSON form; raises :class:`ProblemError` naming a malformed field."""
    doc = _Obj(_parse(data), "")
    _format(doc, SOLUTION_FORMAT)
    origin: date = doc.date("origin")

    def day(o: _Obj, key: str, default: Any = _MISSING) -> Any:
        d = o.date(key, default)
        return d if d is None or d is default else day_of(origin, d)

    status = doc.text("status")
    if status not in STATUSES:
        _fail("status", f"must be one of {', '.join(STATUSES)}")
    assignments = []
    for o in doc.items("assignments", []):
        hours_obj = o.obj("hours", {})
        hours = []
        for text in hours_obj.value:
            try:
                week = week_of(origin, text)
            except ValueError as exc:
                _fail(f"{hours_obj.path}.{text}", str(exc))
            hours.append((week, hours_obj.number(text)))
        hours_obj.done()
        o.raw("start_week", None), o.raw("end_week", None)
        assignments.append(
            Assignment(
                o.text("factory"),
                o.text("package"),
                o.integer("quantity"),
                day(o, "start"),
                day(o, "end"),
                tuple(hours),
            )
        )
        o.done()
    costs = None
    if doc.raw("costs", None) is not None:
        c = doc.obj("costs")
        c.raw("total", None)
        costs = CostBreakdown(
            c.integer("production"),
            c.integer("setup"),
            c.integer("transport"),
            c.integer("coordination"),
            c.integer("cohesion"),
            c.integer("lateness"),
        )
        c.done()
    explanation = None
    if doc.raw("explanation", None) is not None:
        e = doc.obj("explanation")

        def entries(key: str) -> list[tuple[str, str, tuple[str, ...]]]:
            out = []
            for r in e.items(key, []):
                out.append((r.text("code"), r.text("message"), r.string_list("subjects")))
                r.done()
            return out

        reasons = tuple(Reason(*x) for x in entries("reasons"))
        relaxations = tuple(Relaxation(*x) for x in entries("relaxations"))
        explanation = Explanation(e.text("summary"), reasons, relaxations)
        e.done()
    lines_obj = doc.obj("lines", {})
    lines = {line: day(lines_obj, line) for line in lines_obj.value}
    lines_obj.done()
    sol = Solution(
        status=status,
        origin=origin,
        preset=doc.text("preset", "cheapest"),
        assignments=tuple(assignments),
        costs=costs,
        line_completion=lines,
        completion_day=day(doc, "completion", None),
        members=doc.string_list("members"),
        lead=doc.text("lead", None),
        objective=doc.number("objective", None),
        bound=doc.number("bound", None),
        gap=doc.number("gap", None),
        wall_s=doc.number("wall_s", 0.0),
        first_solution_s=doc.number("first_solution_s", None),
        pruned=doc.flag("pruned", False),
        explanation=explanation,
    )
    doc.done()
    return sol


def dumps(obj: Mapping[str, Any]) -> str:
    """Stable, human-readable JSON text."""
    return json.dumps(obj, ensure_ascii=False, indent=2) + "\n"
