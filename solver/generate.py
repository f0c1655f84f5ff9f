"""Seeded generator of realistic consortium RFQs (for tests and benchmarks).

Factories sit in Japan's manufacturing clusters (Ota, Higashiosaka, Tsubame-Sanjo, Suwa, Hamamatsu, …) with
two to four processes each and common certifications. An RFQ has lines whose routings of two to five
operations follow real part families (shaft: turning → heat treatment → grinding → plating → inspection …);
every line × operation is a work package. Every capable factory bids with probability ``BID_RATE`` (firm or
estimated), with its own efficiency, setup and sometimes a maximum quantity. Capacity is weekly free hours
per factory × process over a 12-week horizon; due dates leave one to two weeks per operation.
"""

from __future__ import annotations

import random
from itertools import combinations

from solver.problem import (
    DEFAULT_ORIGIN,
    Capacity,
    Collaboration,
    Factory,
    Offer,
    Policy,
    Problem,
    TransportLink,
    WorkPackage,
)

__all__ = ["generate_problem"]

HORIZON_WEEKS = 12
BID_RATE = 0.5
MIN_CERTIFIED_BIDDERS = 4

# (JIS prefecture code, clusters, region) — the region drives transport days and cost.
CLUSTERS: tuple[tuple[str, tuple[str, ...], int], ...] = (
    ("13", ("Ota", "Shinagawa", "Sumida"), 0),
    ("11", ("Kawaguchi",), 0),
    ("14", ("Sagamihara", "Kawasaki"), 0),
    ("15", ("Tsubame-Sanjo",), 1),
    ("20", ("Suwa", "Okaya", "Sakaki"), 1),
    ("22", ("Hamamatsu",), 2),
    ("23", ("Kariya", "Toyota"), 2),
    ("27", ("Higashiosaka", "Yao"), 3),
    ("26", ("Fushimi",), 3),
    ("28", ("Amagasaki",), 3),
    ("34", ("Kure",), 4),
    ("40", ("Kitakyushu",), 5),
)

# process: (base hours per unit, base unit price JPY, setup hours)
PROCESSES: dict[str, tuple[float, int, float]] = {
    "turning": (0.10, 900, 3.0),
    "milling": (0.15, 1300, 4.0),
    "grinding": (0.08, 800, 3.0),
    "heat_treatment": (0.02, 250, 6.0),
    "surface_treatment": (0.01, 180, 2.0),
    "sheet_metal": (0.06, 600, 2.0),
    "casting": (0.12, 1100, 8.0),
    "forging": (0.05, 700, 6.0),
    "moulding": (0.01, 120, 5.0),
    "micro_assembly": (0.20, 1500, 2.0),
    "additive": (0.50, 4000, 1.0),
    "inspection": (0.03, 200, 1.0),
}

# part family: routing, quantity range, size (scales hours and prices), certification the line requires
FAMILIES: tuple[tuple[str, tuple[str, ...], tuple[int, int], float, str | None], ...] = (
    (
        "shaft",
        ("turning", "heat_treatment", "grinding", "surface_treatment", "inspection"),
        (100, 1200),
        1.0,
        None,
    ),
    ("gear", ("forging", "turning", "milling", "heat_treatment", "grinding"), (100, 800), 1.0, "IATF 16949"),
    ("bracket", ("sheet_metal", "surface_treatment", "inspection"), (200, 2000), 0.8, None),
    ("housing", ("casting", "milling", "inspection"), (50, 600), 1.5, None),
    ("pin", ("turning", "surface_treatment"), (500, 4000), 0.25, None),
    ("enclosure", ("moulding", "micro_assembly", "inspection"), (300, 2500), 0.3, "ISO 13485"),
    ("nozzle", ("additive", "milling", "inspection"), (10, 120), 1.0, "JIS Q 9100"),
    ("flange", ("turning", "milling", "surface_treatment"), (100, 1000), 1.0, None),
)

CERTIFICATIONS = (
    ("ISO 9001", 0.8),
    ("ISO 14001", 0.3),
    ("IATF 16949", 0.35),
    ("ISO 13485", 0.25),
    ("JIS Q 9100", 0.3),
)
UNSPLITTABLE = {"heat_treatment": 0.6, "casting": 0.4, "surface_treatment": 0.3}


def generate_problem(factories: int, packages: int, seed: int) -> Problem:
    """A reproducible RFQ of ``packages`` work packages for a pool of ``factories`` factories."""
    rng = random.Random(seed)
    facts, caps = _factories(rng, factories)
    sizes: dict[str, float] = {}
    pkgs = _packages(rng, packages, sizes)
    capable: dict[str, list[Factory]] = {}
    for f, procs in facts:
        for proc in procs:
            capable.setdefault(proc, []).append(f)
    offers: list[Offer] = []
    efficiency = {f.id: rng.uniform(0.8, 1.3) for f, _ in facts}
    for pkg in pkgs:
        hpu, price, setup = PROCESSES[pkg.process]
        hpu, price = hpu * sizes[pkg.id], round(price * sizes[pkg.id])
        able = capable.get(pkg.process) or [rng.choice([f for f, _ in facts])]
        pool = [f for f in able if rng.random() < BID_RATE]
        # Certified factories make sure they bid: at least MIN_CERTIFIED_BIDDERS of them when they exist.
        certified = [f for f in able if pkg.required_certifications <= f.certifications and f not in pool]
        have = sum(1 for f in pool if pkg.required_certifications <= f.certifications)
        rng.shuffle(certified)
        pool += certified[: max(0, MIN_CERTIFIED_BIDDERS - have)]
        for f in pool:
            eff = efficiency[f.id] * rng.uniform(0.9, 1.15)
            firm = rng.random() < 0.4
            offers.append(
                Offer(
                    factory=f.id,
                    package=pkg.id,
                    unit_price=max(1, round(price * eff * rng.uniform(0.9, 1.2))),
                    setup_cost=int(round(setup * rng.uniform(6000, 9000), -2)),
                    hours_per_unit=round(hpu * eff, 3),
                    setup_hours=round(setup * rng.uniform(0.7, 1.3), 1),
                    max_quantity=round(pkg.quantity * rng.uniform(0.5, 0.9)) or 1
                    if pkg.splittable and rng.random() < 0.3
                    else None,
                    earliest_start_day=rng.choice((0, 0, 0, 1, 2, 3, 7)),
                    firm=firm,
                )
            )
    factory_list = [f for f, _ in facts]
    return Problem(
        factories=tuple(factory_list),
        packages=tuple(pkgs),
        offers=tuple(offers),
        capacity=tuple(caps),
        transport=_transport(rng),
        default_transport_days=2,
        default_transport_cost=30000,
        collaborations=_collaborations(rng, factory_list),
        policy=Policy(
            preset="cheapest",
            coordination_cost=50_000,
            cohesion_bonus=10_000,
            lead_certification="ISO 9001",
        ),
        origin=DEFAULT_ORIGIN,
        name=f"generated-{factories}x{packages}-seed{seed}",
    )


def _factories(rng: random.Random, n: int) -> tuple[list[tuple[Factory, list[str]]], list[Capacity]]:
    out: list[tuple[Factory, list[str]]] = []
    caps: list[Capacity] = []
    names = list(PROCESSES)
    for i in range(n):
        pref, clusters, _ = rng.choice(CLUSTERS)
        certs = frozenset(c for c, p in CERTIFICATIONS if rng.random() < p)
        f = Factory(f"F{i + 1:04d}", pref, rng.choice(clusters), certs)
        procs = rng.sample(names, rng.choice((2, 2, 3, 3, 4)))
        out.append((f, procs))
        for proc in procs:
            base = rng.uniform(20, 70)
            for w in range(HORIZON_WEEKS):
                if rng.random() < 0.1:
                    continue  # booked out that week
                caps.append(Capacity(f.id, proc, w, float(round(base * rng.uniform(0.6, 1.2)))))
    return out, caps


def _packages(rng: random.Random, n: int, sizes: dict[str, float]) -> list[WorkPackage]:
    out: list[WorkPackage] = []
    line = 0
    while len(out) < n:
        line += 1
        part, routing, (qlo, qhi), size, cert = rng.choice(FAMILIES)
        steps = routing[: max(2, min(len(routing), n - len(out)))] if n - len(out) >= 2 else routing[:1]
        qty = rng.randint(qlo, qhi)
        due = 7 * (len(steps) + rng.randint(2, 5)) + 4  # a Friday
        for k, proc in enumerate(steps):
            unsplittable = rng.random() < UNSPLITTABLE.get(proc, 0.1)
            certs = frozenset({cert} if cert else ())
            if proc == "inspection":
                certs |= {"ISO 9001"}
            out.append(
                WorkPackage(
                    id=f"L{line:03d}-{k + 1}",
                    line=f"L{line:03d}",
                    operation=k,
                    process=proc,
                    quantity=qty,
                    splittable=not unsplittable,
                    min_lot=1 if unsplittable else max(1, round(qty * rng.choice((0.05, 0.1, 0.2)))),
                    due_day=due if k == len(steps) - 1 else None,
                    required_certifications=certs,
                    part=part,
                )
            )
            sizes[f"L{line:03d}-{k + 1}"] = size
    return out[:n]


def _transport(rng: random.Random) -> tuple[TransportLink, ...]:
    links: list[TransportLink] = []
    for pref, _, _ in CLUSTERS:
        links.append(TransportLink(pref, pref, 0, 5_000))
    for (pa, _, ra), (pb, _, rb) in combinations(CLUSTERS, 2):
        distance = abs(ra - rb)
        links.append(
            TransportLink(pa, pb, 1 + distance // 2, 10_000 + 8_000 * distance + rng.randint(0, 3) * 1_000)
        )
    return tuple(links)


def _collaborations(rng: random.Random, factories: list[Factory]) -> tuple[Collaboration, ...]:
    by_cluster: dict[str, list[Factory]] = {}
    for f in factories:
        by_cluster.setdefault(f.cluster, []).append(f)
    out: list[Collaboration] = []
    for members in by_cluster.values():
        for _ in range(len(members) // 3):
            a, b = rng.sample(members, 2) if len(members) > 1 else (members[0], members[0])
            if a.id != b.id:
                out.append(Collaboration(a.id, b.id, float(rng.randint(1, 3))))
    return tuple(out)
