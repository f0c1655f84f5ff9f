"""Shared helpers for the GAP benchmarks: instance paths, reference values, machine information."""

from __future__ import annotations

import csv
import datetime as dt
import os
import platform
import sys
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from solver.gap import GapInstance, read_gap_file

PROJECT_ROOT = Path(__file__).resolve().parents[2]
RESULTS = PROJECT_ROOT / "bench" / "results"
#: The GAP instances (OR-Library, Chu & Beasley, Yagiura): ``MACHIKOBA_GAP_DATA``, else this folder
#: beside the project (``../shared/bench/gap`` from the project root).
DEFAULT_GAP_DATA = PROJECT_ROOT.parent / "shared" / "bench" / "gap"


def gap_data() -> Path:
    """The GAP data folder; exits with a one-line message (status 2) when it is missing."""
    env = os.environ.get("MACHIKOBA_GAP_DATA")
    path = Path(env) if env else DEFAULT_GAP_DATA
    if not (path / "orlib").is_dir():
        source = "MACHIKOBA_GAP_DATA" if env else "the default"
        print(
            f"GAP data not found at {path} ({source}): set MACHIKOBA_GAP_DATA to the folder holding orlib/, "
            "chu1997_single/, yagiura_typeE/ and reference/",
            file=sys.stderr,
        )
        raise SystemExit(2)
    return path


#: Minimisation optima of gap1..gap12 (README of the benchmark folder).
ORLIB_OPTIMA: dict[int, tuple[int, ...]] = {
    1: (261, 269, 256, 274, 251),
    2: (277, 269, 260, 269, 267),
    3: (438, 415, 446, 430, 411),
    4: (423, 424, 426, 395, 406),
    5: (403, 389, 383, 384, 396),
    6: (525, 527, 519, 516, 521),
    7: (646, 662, 662, 645, 649),
    8: (797, 783, 800, 789, 792),
    9: (482, 476, 496, 497, 488),
    10: (638, 638, 654, 635, 639),
    11: (573, 583, 589, 578, 581),
    12: (974, 956, 941, 954, 945),
}

SIZES = ("05100", "05200", "10100", "10200", "20100", "20200")
SETS = ("a", "b", "c", "d", "e")


@cache
def reference() -> dict[str, int]:
    """Best known solution value per A-E instance (fontanf data.csv, minimisation)."""
    ref: dict[str, int] = {}
    with (gap_data() / "reference" / "fontanf_data.csv").open() as fh:
        for row in csv.DictReader(fh):
            name = row["Path"].split("/")[-1]
            if row["Dataset"] in ("chu1997", "yagiura2004") and name[0] in "abcde" and name[1:] in SIZES:
                ref[name] = int(row["Best known solution value"])
    return ref


def path_of(name: str) -> Path:
    """File of an A-E instance name like ``d10100``."""
    folder = "yagiura_typeE" if name.startswith("e") else "chu1997_single"
    return gap_data() / folder / name


def load_named(name: str) -> GapInstance:
    """Load an A-E instance by name (``d10100``) or an OR-Library one (``gap12-3``)."""
    if name.startswith("gap"):
        base, k = name.split("-")
        return read_gap_file(gap_data() / "orlib" / f"{base}.txt", int(k))
    return read_gap_file(path_of(name))


def machine_info() -> dict[str, Any]:
    """Platform, CPU model, cores, load average, solver versions and date for the results files."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def ver(pkg: str) -> str:
        try:
            return metadata.version(pkg)
        except metadata.PackageNotFoundError:
            return "not installed"

    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "ortools": ver("ortools"),
        "highspy": ver("highspy"),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def machine_markdown(info: dict[str, Any]) -> str:
    """One markdown line describing the machine."""
    return (
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['platform']}, Python {info['python']}; "
        f"ortools {info['ortools']}, highspy {info['highspy']}; "
        f"load average {info['loadavg']}; {info['date']}"
    )
