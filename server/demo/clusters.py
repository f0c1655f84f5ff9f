"""Real Japanese industrial clusters and what their town factories are known for.

The numbers are plausible, not measured: small shops (3–120 people), hourly rates of ¥4,000–¥16,000, and
the specialities each town is known for (Ota's 5-axis and prototyping, Tsubame-Sanjo's polishing and
forging, Suwa's micro-assembly, Kawaguchi's castings …).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cluster:
    name: str
    prefecture: str  # JIS X 0401
    cities: tuple[tuple[str, str], ...]  # (Japanese, English)
    share: int  # relative number of factories
    # (process code, weight): what shops in this town do.
    specialities: tuple[tuple[str, int], ...]


CLUSTERS: tuple[Cluster, ...] = (
    Cluster(
        "Ota",
        "13",
        (("大田区", "Ota City"),),
        60,
        (
            ("cnc_milling", 8),
            ("five_axis_machining", 6),
            ("cnc_turning", 8),
            ("prototype_machining", 5),
            ("cylindrical_grinding", 3),
            ("surface_grinding", 3),
            ("wire_edm", 3),
            ("jig_grinding", 2),
            ("electroless_nickel", 2),
            ("anodizing", 2),
            ("cmm_inspection", 2),
            ("precision_assembly", 2),
            ("prototype_sheet_metal", 2),
        ),
    ),
    Cluster(
        "Higashiosaka",
        "27",
        (("東大阪市", "Higashiosaka"),),
        50,
        (
            ("sheet_metal_bending", 6),
            ("turret_punching", 4),
            ("tig_welding", 4),
            ("progressive_stamping", 4),
            ("cold_forging", 3),
            ("cnc_turning", 5),
            ("cnc_milling", 4),
            ("laser_cutting", 3),
            ("painting", 2),
            ("high_volume_turning", 3),
        ),
    ),
    Cluster(
        "Tsubame-Sanjo",
        "15",
        (("燕市", "Tsubame"), ("三条市", "Sanjo")),
        35,
        (
            ("electropolishing", 6),
            ("deep_drawing", 5),
            ("hot_forging", 5),
            ("metal_spinning", 3),
            ("progressive_stamping", 3),
            ("tig_welding", 3),
            ("cnc_milling", 2),
        ),
    ),
    Cluster(
        "Suwa",
        "20",
        (("諏訪市", "Suwa"), ("岡谷市", "Okaya"), ("茅野市", "Chino")),
        40,
        (
            ("swiss_turning", 6),
            ("precision_assembly", 5),
            ("cleanroom_assembly", 4),
            ("high_volume_turning", 4),
            ("cnc_milling", 3),
            ("cylindrical_grinding", 3),
            ("wire_edm", 2),
            ("cleaning_inspection", 3),
            ("cmm_inspection", 2),
        ),
    ),
    Cluster(
        "Hamamatsu",
        "22",
        (("浜松市", "Hamamatsu"), ("磐田市", "Iwata")),
        40,
        (
            ("die_casting", 5),
            ("injection_moulding", 5),
            ("high_volume_turning", 4),
            ("carburizing", 4),
            ("quenching_tempering", 4),
            ("cnc_milling", 4),
            ("cnc_turning", 4),
            ("progressive_stamping", 3),
            ("cylindrical_grinding", 2),
        ),
    ),
    Cluster(
        "Kitakyushu",
        "40",
        (("北九州市", "Kitakyushu"),),
        30,
        (
            ("hot_forging", 5),
            ("sand_casting", 3),
            ("quenching_tempering", 4),
            ("nitriding", 3),
            ("vacuum_heat_treatment", 3),
            ("hard_chrome", 3),
            ("tig_welding", 3),
            ("cnc_turning", 3),
            ("water_jet_cutting", 2),
        ),
    ),
    Cluster(
        "Sabae",
        "18",
        (("鯖江市", "Sabae"),),
        20,
        (
            ("cnc_milling", 4),
            ("five_axis_machining", 2),
            ("laser_cutting", 3),
            ("precision_assembly", 3),
            ("painting", 2),
            ("electropolishing", 2),
            ("metal_3d_printing", 1),
        ),
    ),
    Cluster(
        "Kawaguchi",
        "11",
        (("川口市", "Kawaguchi"),),
        25,
        (
            ("sand_casting", 6),
            ("investment_casting", 3),
            ("cnc_milling", 3),
            ("cnc_turning", 3),
            ("black_oxide", 2),
            ("painting", 2),
        ),
    ),
    Cluster(
        "Kyoto-Fushimi",
        "26",
        (("京都市伏見区", "Fushimi, Kyoto"),),
        15,
        (
            ("cmm_inspection", 3),
            ("cleaning_inspection", 3),
            ("cleanroom_assembly", 2),
            ("resin_3d_printing", 2),
            ("vacuum_casting", 2),
            ("anodizing", 3),
            ("electroless_nickel", 3),
        ),
    ),
    Cluster(
        "Kariya-Toyota",
        "23",
        (("刈谷市", "Kariya"), ("豊田市", "Toyota")),
        25,
        (
            ("carburizing", 4),
            ("cylindrical_grinding", 4),
            ("high_volume_turning", 4),
            ("cold_forging", 3),
            ("injection_moulding", 3),
            ("rubber_moulding", 2),
            ("compression_moulding", 2),
            ("cnc_milling", 3),
        ),
    ),
)

# Family names and trade-name suffixes for shop names (株式会社 + surname + suffix).
SURNAMES: tuple[tuple[str, str], ...] = (
    ("佐藤", "Sato"),
    ("鈴木", "Suzuki"),
    ("高橋", "Takahashi"),
    ("田中", "Tanaka"),
    ("伊藤", "Ito"),
    ("渡辺", "Watanabe"),
    ("山本", "Yamamoto"),
    ("中村", "Nakamura"),
    ("小林", "Kobayashi"),
    ("加藤", "Kato"),
    ("吉田", "Yoshida"),
    ("山田", "Yamada"),
    ("佐々木", "Sasaki"),
    ("山口", "Yamaguchi"),
    ("松本", "Matsumoto"),
    ("井上", "Inoue"),
    ("木村", "Kimura"),
    ("林", "Hayashi"),
    ("斎藤", "Saito"),
    ("清水", "Shimizu"),
    ("山崎", "Yamazaki"),
    ("森", "Mori"),
    ("池田", "Ikeda"),
    ("橋本", "Hashimoto"),
    ("阿部", "Abe"),
    ("石川", "Ishikawa"),
    ("前田", "Maeda"),
    ("藤田", "Fujita"),
    ("岡田", "Okada"),
    ("後藤", "Goto"),
    ("長谷川", "Hasegawa"),
    ("村上", "Murakami"),
    ("近藤", "Kondo"),
    ("石井", "Ishii"),
    ("坂本", "Sakamoto"),
    ("遠藤", "Endo"),
    ("青木", "Aoki"),
    ("藤井", "Fujii"),
    ("西村", "Nishimura"),
    ("福田", "Fukuda"),
    ("太田", "Ota"),
    ("三浦", "Miura"),
    ("岡本", "Okamoto"),
    ("松田", "Matsuda"),
    ("中川", "Nakagawa"),
)

SUFFIXES: tuple[tuple[str, str], ...] = (
    ("製作所", "Seisakusho"),
    ("精工", "Seiko"),
    ("工業", "Kogyo"),
    ("精機", "Seiki"),
    ("技研", "Giken"),
    ("鉄工所", "Tekkosho"),
    ("金属", "Kinzoku"),
    ("精密", "Seimitsu"),
    ("工作所", "Kosakusho"),
)
