"""GraphQL types of the catalogue: prefectures, materials, processes and certifications."""

from __future__ import annotations

import enum
from functools import lru_cache

import strawberry

from server.catalogue import repo
from server.catalogue.taxonomy import Taxonomy


@strawberry.enum(description="A family of materials; each process accepts some families.")
class MaterialFamily(enum.Enum):
    METAL = strawberry.enum_value(
        "metal", description="Steels, stainless, aluminium, copper alloys, titanium …"
    )
    PLASTIC = strawberry.enum_value("plastic", description="Engineering plastics (POM, PEEK, PA66 …).")
    CERAMIC = strawberry.enum_value("ceramic", description="Technical ceramics (alumina, zirconia).")
    COMPOSITE = strawberry.enum_value("composite", description="Fibre-reinforced plastics (CFRP, GFRP).")
    RUBBER = strawberry.enum_value("rubber", description="Elastomers (NBR, FKM).")


@strawberry.enum(description="The category a process belongs to.")
class ProcessCategory(enum.Enum):
    PRECISION_MACHINING = strawberry.enum_value("precision_machining", description="精密切削・研削.")
    SMALL_LOT_PROTOTYPING = strawberry.enum_value("small_lot_prototyping", description="試作・小ロット.")
    HIGH_PRECISION_MASS_PRODUCTION = strawberry.enum_value(
        "high_precision_mass_production", description="高精度量産."
    )
    MICRO_ASSEMBLY = strawberry.enum_value("micro_assembly", description="精密組立.")
    ADVANCED_MACHINING = strawberry.enum_value("advanced_machining", description="特殊加工 (EDM, laser …).")
    SHEET_METAL = strawberry.enum_value("sheet_metal", description="板金.")
    FORMING_FORGING = strawberry.enum_value("forming_forging", description="塑性加工・鍛造.")
    CASTING = strawberry.enum_value("casting", description="鋳造.")
    MOULDING = strawberry.enum_value("moulding", description="成形 (plastics, rubber).")
    HEAT_TREATMENT = strawberry.enum_value("heat_treatment", description="熱処理.")
    SURFACE_TREATMENT = strawberry.enum_value("surface_treatment", description="表面処理.")
    ADDITIVE = strawberry.enum_value("additive", description="積層造形 (3D printing).")
    INSPECTION = strawberry.enum_value("inspection", description="検査.")


@strawberry.type(description="A Japanese prefecture (JIS X 0401).")
class Prefecture:
    code: str = strawberry.field(description="Two-digit JIS X 0401 code, `01` (Hokkaido) to `47` (Okinawa).")
    name_ja: str = strawberry.field(description="Name in Japanese, e.g. `東京都`.")
    name_en: str = strawberry.field(description="Name in English, e.g. `Tokyo`.")

    @classmethod
    def from_row(cls, row: repo.Prefecture) -> Prefecture:
        return cls(code=row.code, name_ja=row.name_ja, name_en=row.name_en)


@strawberry.type(description="A material, by its JIS or common trade designation.")
class Material:
    code: str = strawberry.field(
        description="Designation used everywhere in the API, e.g. `SUS304`, `A6061`."
    )
    name_ja: str = strawberry.field(description="Name in Japanese.")
    name_en: str = strawberry.field(description="Name in English.")
    family: MaterialFamily = strawberry.field(description="Its family, which decides the processes for it.")

    @classmethod
    def from_row(cls, row: repo.Material) -> Material:
        return cls(code=row.code, name_ja=row.name_ja, name_en=row.name_en, family=MaterialFamily(row.family))


@strawberry.type(description="A manufacturing process of the taxonomy.")
class Process:
    code: str = strawberry.field(description="Stable code used in capabilities and RFQ routings.")
    name_ja: str = strawberry.field(description="Name in Japanese, e.g. `5軸加工`.")
    name_en: str = strawberry.field(description="Name in English, e.g. `5-axis machining`.")
    category: ProcessCategory = strawberry.field(description="Its category.")
    material_families: list[MaterialFamily] = strawberry.field(
        description="Material families it accepts; other materials are a `MATERIAL_MISMATCH`."
    )

    @classmethod
    def from_row(cls, row: repo.Process) -> Process:
        return cls(
            code=row.code,
            name_ja=row.name_ja,
            name_en=row.name_en,
            category=ProcessCategory(row.category),
            material_families=[MaterialFamily(f) for f in row.material_families],
        )


@strawberry.type(description="A certification a factory may hold.")
class Certification:
    code: str = strawberry.field(description="Stable code, e.g. `ISO9001`, `JISQ9100`.")
    name: str = strawberry.field(description="Full name.")

    @classmethod
    def from_row(cls, row: repo.Certification) -> Certification:
        return cls(code=row.code, name=row.name)


# The GraphQL objects of a catalogue copy, built once per entry and shared by every request that reads that
# copy (they are never changed). A new copy of the catalogue is a new key.
@lru_cache(maxsize=4096)
def prefecture_of(taxonomy: Taxonomy, code: str) -> Prefecture:
    """The prefecture ``code`` names (a foreign key of the row that holds it)."""
    return Prefecture.from_row(taxonomy.prefecture(code))


@lru_cache(maxsize=4096)
def process_of(taxonomy: Taxonomy, code: str) -> Process:
    """The process ``code`` names (a foreign key of the row that holds it)."""
    return Process.from_row(taxonomy.process(code))


@lru_cache(maxsize=4096)
def material_of(taxonomy: Taxonomy, code: str) -> Material:
    """The material ``code`` names (a foreign key of the row that holds it)."""
    return Material.from_row(taxonomy.material(code))
