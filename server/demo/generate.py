"""Deterministic demo rows: the same seed gives the same factories, capabilities and capacity."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from server.demo.clusters import CLUSTERS, SUFFIXES, SURNAMES, Cluster

DEMO_SEED = 20261123

# process code → (best tolerance µm range, max envelope mm range, hourly rate ¥ range, setup hours range,
# lot range, materials it is usually offered for)
_METALS = ("S45C", "SCM440", "SUS304", "SUS316L", "A5052", "A6061", "A7075", "C3604", "SS400", "TI64")
_PLASTICS = ("POM", "PEEK", "PA66", "PC", "ABS", "PTFE")


@dataclass(frozen=True)
class ProcessProfile:
    tolerance_um: tuple[float, float]
    envelope_mm: tuple[int, int]
    rate_jpy: tuple[int, int]
    setup_hours: tuple[float, float]
    max_lot: tuple[int, int]
    materials: tuple[str, ...]
    always: tuple[str, ...] = ()
    """Materials every shop of the process takes, on top of the sampled ones (no random draw: adding one
    leaves every other demo row as it was)."""


def _profile(
    tol: tuple[float, float],
    env: tuple[int, int],
    rate: tuple[int, int],
    setup: tuple[float, float],
    lot: tuple[int, int],
    materials: tuple[str, ...],
    always: tuple[str, ...] = (),
) -> ProcessProfile:
    return ProcessProfile(tol, env, rate, setup, lot, materials, always)


MACHINING = _profile((2, 20), (150, 800), (6000, 12000), (1, 4), (500, 20000), _METALS + ("POM", "PEEK"))
PROFILES: dict[str, ProcessProfile] = {
    "cnc_turning": MACHINING,
    "cnc_milling": MACHINING,
    "five_axis_machining": _profile((2, 10), (150, 600), (9000, 16000), (2, 6), (100, 5000), _METALS),
    "swiss_turning": _profile((2, 8), (20, 40), (7000, 11000), (2, 5), (1000, 100000), _METALS + _PLASTICS),
    "cylindrical_grinding": _profile((1, 5), (100, 600), (7000, 12000), (1, 3), (500, 50000), _METALS[:7]),
    "surface_grinding": _profile((1, 5), (200, 1000), (6000, 10000), (1, 3), (100, 10000), _METALS[:7]),
    "prototype_machining": _profile(
        (5, 30), (100, 500), (8000, 14000), (0.5, 2), (10, 200), _METALS + _PLASTICS
    ),
    "vacuum_casting": _profile((50, 200), (100, 600), (5000, 8000), (4, 10), (5, 100), ("ABS", "PC", "NBR")),
    "prototype_sheet_metal": _profile(
        (50, 200), (300, 1500), (6000, 9000), (0.5, 2), (1, 100), ("SPCC", "SUS304")
    ),
    "high_volume_turning": _profile((5, 20), (10, 60), (5000, 8000), (4, 8), (10000, 500000), _METALS[:8]),
    "progressive_stamping": _profile(
        (20, 50), (20, 300), (5000, 9000), (4, 10), (10000, 1000000), ("SPCC", "SUS304", "C1100", "A5052")
    ),
    "precision_assembly": _profile(
        (5, 20), (20, 300), (4500, 7500), (1, 3), (100, 50000), _METALS[:7] + _PLASTICS
    ),
    "cleanroom_assembly": _profile(
        (2, 10), (10, 200), (6000, 9000), (2, 4), (100, 20000), ("SUS316L", "TI64", "PEEK", "PC", "ZRO2")
    ),
    "wire_edm": _profile(
        (2, 5), (100, 500), (7000, 11000), (1, 3), (1, 2000), ("SKD11", "S45C", "SUS440C", "TI64")
    ),
    "sinker_edm": _profile((5, 10), (50, 400), (7000, 11000), (2, 5), (1, 1000), ("SKD11", "S45C", "C1100")),
    "laser_cutting": _profile(
        (50, 100), (500, 3000), (6000, 10000), (0.3, 1), (10, 10000), ("SPCC", "SUS304", "SS400", "A5052")
    ),
    "jig_grinding": _profile(
        (1, 3), (100, 500), (9000, 14000), (2, 4), (1, 1000), ("SKD11", "SUS440C", "AL2O3")
    ),
    "water_jet_cutting": _profile(
        (100, 200), (500, 3000), (7000, 10000), (0.5, 1), (1, 5000), ("SUS304", "TI64", "CFRP", "GFRP", "NBR")
    ),
    "sheet_metal_bending": _profile(
        (100, 300), (300, 3000), (5000, 8000), (0.5, 2), (10, 20000), ("SPCC", "SUS304", "A5052", "SS400")
    ),
    "turret_punching": _profile(
        (100, 200), (500, 2500), (5000, 8000), (0.5, 1.5), (10, 50000), ("SPCC", "SUS304", "A5052")
    ),
    "tig_welding": _profile(
        (200, 500),
        (200, 3000),
        (5500, 9000),
        (0.5, 2),
        (1, 5000),
        ("SUS304", "SUS316L", "A5052", "SS400", "TI64"),
    ),
    "hot_forging": _profile(
        (300, 1000), (50, 500), (6000, 9000), (6, 12), (1000, 200000), ("S45C", "SCM440", "SUS304", "TI64")
    ),
    "cold_forging": _profile(
        (30, 100), (10, 100), (5000, 8000), (4, 10), (10000, 1000000), ("S45C", "SCM440", "A6061", "C3604")
    ),
    "deep_drawing": _profile(
        (50, 150), (30, 400), (5000, 8000), (4, 10), (1000, 300000), ("SPCC", "SUS304", "A5052", "C1100")
    ),
    "metal_spinning": _profile(
        (100, 300), (100, 1500), (5000, 8000), (1, 3), (1, 2000), ("SUS304", "A5052", "C1100")
    ),
    "die_casting": _profile((50, 150), (50, 600), (6000, 9000), (8, 16), (5000, 500000), ("ADC12",)),
    "sand_casting": _profile((500, 1500), (100, 2000), (5000, 8000), (4, 10), (10, 5000), ("FC250", "SS400")),
    "investment_casting": _profile(
        (100, 300), (20, 400), (6000, 9000), (6, 12), (100, 20000), ("SUS304", "SUS316L", "SCM440", "TI64")
    ),
    "injection_moulding": _profile(
        (20, 80), (20, 500), (5000, 9000), (4, 12), (5000, 1000000), ("POM", "PA66", "PC", "ABS", "PEEK")
    ),
    "rubber_moulding": _profile((50, 150), (10, 300), (4500, 7000), (3, 8), (1000, 500000), ("NBR", "FKM")),
    "compression_moulding": _profile(
        (50, 150), (50, 800), (5000, 8000), (4, 8), (100, 50000), ("CFRP", "GFRP", "NBR", "FKM")
    ),
    "quenching_tempering": _profile(
        (10, 50), (100, 1500), (4000, 6500), (2, 6), (100, 500000), ("S45C", "SCM440", "SKD11", "SUS440C")
    ),
    "carburizing": _profile((10, 50), (100, 1000), (4000, 6500), (4, 8), (500, 500000), ("SCM440", "S45C")),
    "nitriding": _profile(
        (5, 30), (100, 1000), (4500, 7000), (4, 8), (100, 200000), ("SCM440", "SKD11", "SUS304")
    ),
    "vacuum_heat_treatment": _profile(
        (5, 30), (100, 1000), (5000, 8000), (4, 8), (10, 100000), ("SKD11", "SUS440C", "TI64", "INCONEL718")
    ),
    "anodizing": _profile(
        (5, 20), (100, 1500), (4000, 6000), (1, 3), (100, 500000), ("A5052", "A6061", "A7075")
    ),
    "electroless_nickel": _profile(
        (2, 10),
        (50, 1000),
        (4000, 6500),
        (1, 3),
        (100, 500000),
        ("S45C", "SCM440", "A5052", "A6061", "A7075", "C3604", "SUS304"),
    ),
    "hard_chrome": _profile(
        (5, 20), (100, 2000), (4500, 7000), (2, 4), (10, 100000), ("S45C", "SCM440", "SKD11")
    ),
    "black_oxide": _profile(
        (5, 20), (50, 1000), (3500, 5500), (1, 2), (100, 500000), ("S45C", "SCM440", "SS400")
    ),
    "electropolishing": _profile(
        (2, 10), (50, 1000), (4500, 7000), (1, 2), (100, 200000), ("SUS304", "SUS316L", "TI64")
    ),
    "painting": _profile(
        (20, 80), (100, 3000), (4000, 6500), (1, 3), (10, 200000), ("SPCC", "SS400", "A5052", "ABS", "PC")
    ),
    "metal_3d_printing": _profile(
        (50, 150), (50, 300), (10000, 16000), (2, 6), (1, 500), ("TI64", "INCONEL718", "SUS316L", "A6061")
    ),
    "resin_3d_printing": _profile(
        (50, 200), (50, 500), (5000, 8000), (0.5, 2), (1, 1000), ("PA66", "ABS", "PC")
    ),
    "cmm_inspection": _profile(
        (1, 5), (100, 1500), (6000, 10000), (0.5, 2), (1, 200000), _METALS + _PLASTICS + ("AL2O3", "CFRP")
    ),
    # A washing line takes whatever steel comes off the grinders: every cleaning shop accepts the common
    # steels, so the demo's ground SCM440 shaft has somewhere to be cleaned and inspected.
    "cleaning_inspection": _profile(
        (1, 10),
        (10, 500),
        (4500, 7000),
        (0.5, 2),
        (100, 500000),
        _METALS + _PLASTICS + ("ZRO2",),
        always=("S45C", "SCM440", "SUS304"),
    ),
}

CERT_CHANCES = {"ISO9001": 0.45, "ISO14001": 0.2, "IATF16949": 0.1, "JISQ9100": 0.07, "ISO13485": 0.07}


@dataclass(frozen=True)
class DemoCapability:
    process_code: str
    materials: tuple[str, ...]
    best_tolerance_um: float
    max_envelope_mm: int
    min_lot: int
    max_lot: int
    hours_per_week: float
    hourly_rate_jpy: int
    setup_cost_jpy: int
    setup_hours: float
    lead_days: int
    busy_weeks: tuple[tuple[int, float], ...]  # (weeks from now, free hours that week)


@dataclass(frozen=True)
class DemoFactory:
    number: int
    name_ja: str
    name_en: str
    prefecture: str
    city: str
    cluster: str
    employees: int
    founded_year: int
    description: str
    certifications: tuple[tuple[str, dt.date], ...]
    capabilities: tuple[DemoCapability, ...]


def _weighted(rng: random.Random, options: tuple[tuple[str, int], ...], k: int) -> list[str]:
    chosen: list[str] = []
    pool = list(options)
    while pool and len(chosen) < k:
        (code,) = rng.choices([c for c, _ in pool], weights=[w for _, w in pool])
        chosen.append(code)
        pool = [(c, w) for c, w in pool if c != code]
    return chosen


def _capability(rng: random.Random, code: str, employees: int) -> DemoCapability:
    profile = PROFILES[code]
    low, high = profile.tolerance_um
    sampled = rng.sample(profile.materials, k=min(len(profile.materials), rng.randint(2, 6)))
    materials = tuple(sorted({*sampled, *profile.always}))
    max_lot = int(rng.uniform(*profile.max_lot) // 10 * 10) or 10
    # Small shops: one or two machines of a kind, so 20–100 free hours a week.
    hours = round(min(168.0, rng.uniform(20, 40) * (1 + employees / 40)), 1)
    setup_hours = round(rng.uniform(*profile.setup_hours), 1)
    rate = int(rng.uniform(*profile.rate_jpy) // 100 * 100)
    busy = tuple(
        (week, round(hours * rng.choice((0.0, 0.25, 0.5)), 1)) for week in range(1, 13) if rng.random() < 0.2
    )
    return DemoCapability(
        process_code=code,
        materials=materials,
        best_tolerance_um=round(rng.uniform(low, high), 1),
        max_envelope_mm=int(rng.uniform(*profile.envelope_mm) // 10 * 10),
        min_lot=1 if max_lot < 1000 else rng.choice((1, 10, 100)),
        max_lot=max(max_lot, 100),
        hours_per_week=hours,
        hourly_rate_jpy=rate,
        setup_cost_jpy=int(setup_hours * rate),
        setup_hours=setup_hours,
        lead_days=rng.randint(3, 15),
        busy_weeks=busy,
    )


def demo_factories(
    count: int = 300, *, seed: int = DEMO_SEED, today: dt.date | None = None
) -> list[DemoFactory]:
    """``count`` factories spread over the clusters by their shares; the same seed gives the same list."""
    rng = random.Random(seed)
    today = today or dt.date(2026, 11, 23)
    total_share = sum(c.share for c in CLUSTERS)
    plan: list[Cluster] = []
    for cluster in CLUSTERS:
        plan += [cluster] * round(count * cluster.share / total_share)
    plan = (plan + list(CLUSTERS) * count)[:count]
    factories = []
    used_names: set[str] = set()
    for number, cluster in enumerate(plan, start=1):
        city_ja, city_en = rng.choice(cluster.cities)
        while True:
            (sur_ja, sur_en), (suf_ja, suf_en) = rng.choice(SURNAMES), rng.choice(SUFFIXES)
            if sur_en + suf_en not in used_names:
                break
            if rng.random() < 0.3:  # a second shop of the family: add the town to the name
                sur_ja, sur_en = (
                    city_ja.removesuffix("市").removesuffix("区") + sur_ja,
                    f"{city_en.split()[0]} {sur_en}",
                )
                if sur_en + suf_en not in used_names:
                    break
        used_names.add(sur_en + suf_en)
        employees = max(3, min(120, int(rng.lognormvariate(2.8, 0.7))))
        codes = _weighted(rng, cluster.specialities, rng.choice((1, 2, 2, 3, 3, 4)))
        # Ota's reputation: a good share of its shops run 5-axis machines.
        if cluster.name == "Ota" and "five_axis_machining" not in codes and rng.random() < 0.3:
            codes.append("five_axis_machining")
        certs = []
        for cert, chance in CERT_CHANCES.items():
            if rng.random() < chance:
                # A few certificates have lapsed: the registry must tell valid from expired.
                days = rng.randint(-120, 1000) if rng.random() < 0.1 else rng.randint(120, 1100)
                certs.append((cert, today + dt.timedelta(days=days)))
        capabilities = tuple(_capability(rng, code, employees) for code in codes)
        speciality = ", ".join(c.replace("_", " ") for c in codes)
        factories.append(
            DemoFactory(
                number=number,
                name_ja=f"株式会社{sur_ja}{suf_ja}",
                name_en=f"{sur_en} {suf_en} Co., Ltd.",
                prefecture=cluster.prefecture,
                city=city_ja,
                cluster=cluster.name,
                employees=employees,
                founded_year=rng.randint(1946, 2015),
                description=f"{cluster.name} ({city_en}) shop, {employees} people: {speciality}.",
                certifications=tuple(certs),
                capabilities=capabilities,
            )
        )
    return factories
