"""The catalogue's one rule between entries: which materials a process works."""

from __future__ import annotations

from server.catalogue.repo import Material, Process


def accepts(process: Process, material: Material) -> bool:
    """The process works this material's family (otherwise: MATERIAL_MISMATCH)."""
    return material.family in process.material_families
