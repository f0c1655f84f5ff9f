"""The seeded generator and the model's size at scale."""

from __future__ import annotations

from dataclasses import replace

import pytest

from solver import eligibility, solve, verify
from solver.eligibility import analyse
from solver.generate import generate_problem
from solver.model import build_model
from tests.solver.builders import WALL_S


def test_generator_is_reproducible() -> None:
    assert generate_problem(30, 12, 7) == generate_problem(30, 12, 7)
    assert generate_problem(30, 12, 7) != generate_problem(30, 12, 8)


def test_generated_problem_solves_and_verifies() -> None:
    # given
    p = generate_problem(100, 15, 1)
    # when
    s = solve(p, time_limit_s=WALL_S, deterministic_time_s=3)
    # then
    assert s.has_consortium
    assert verify(p, s) == []


def test_pruning_keeps_pinned_factories(monkeypatch: pytest.MonkeyPatch) -> None:
    # given: a pool large enough to prune, the dearest factory of a package pinned
    monkeypatch.setattr(eligibility, "PRUNE_MIN_PAIRS", 0)
    p = generate_problem(300, 20, 2)
    elig = analyse(p)
    assert elig.pruned
    pid = p.packages[0].id
    dearest = elig.eligible[pid][-1].factory.id
    q = replace(p, policy=replace(p.policy, pinned=frozenset({dearest})))
    # when
    cands = analyse(q).candidates
    # then
    assert dearest in {c.factory.id for c in cands[pid]}


def test_large_model_holds_only_pruned_pairs() -> None:
    # given (build time is measured in bench/solver/consortium.py, not asserted here)
    p = generate_problem(2000, 200, 0)
    # when
    elig = analyse(p)
    b = build_model(p, elig.candidates)
    # then: the model grows with the candidates kept, not with factories x packages
    assert len(b.pairs) < 4000
