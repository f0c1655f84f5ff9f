"""The catalogue: processes, materials, certifications, prefectures (seeded by the migrations)."""

from __future__ import annotations

from tests.conftest import Caller, GraphQLClient, error_code

PROCESSES = "query { processes { code nameJa nameEn category materialFamilies } }"
HEAT_TREATMENT = "query { processes(category: HEAT_TREATMENT) { code materialFamilies } }"
TAXONOMY = """
query {
  materials { code family }
  certifications { code name }
  prefectures { code nameJa nameEn }
}
"""


async def test_processes_are_readable_anonymously(gql: GraphQLClient) -> None:
    # when
    body = await gql(PROCESSES)
    # then
    processes = body["data"]["processes"]
    assert len(processes) >= 35
    assert len({p["category"] for p in processes}) == 13
    by_code = {p["code"]: p for p in processes}
    assert by_code["five_axis_machining"]["nameJa"] == "5軸加工"
    assert by_code["five_axis_machining"]["category"] == "PRECISION_MACHINING"
    assert by_code["injection_moulding"]["materialFamilies"] == ["PLASTIC"]
    assert set(by_code["cmm_inspection"]["materialFamilies"]) == {
        "METAL",
        "PLASTIC",
        "CERAMIC",
        "COMPOSITE",
        "RUBBER",
    }
    for code in ["wire_edm", "sinker_edm", "laser_cutting", "jig_grinding", "anodizing", "hard_chrome"]:
        assert code in by_code


async def test_processes_by_category(gql: GraphQLClient) -> None:
    body = await gql(HEAT_TREATMENT)
    processes = body["data"]["processes"]
    assert {p["code"] for p in processes} >= {"quenching_tempering", "carburizing", "nitriding"}
    assert all(p["materialFamilies"] == ["METAL"] for p in processes)


async def test_rest_of_taxonomy_is_readable_anonymously(gql: GraphQLClient) -> None:
    body = await gql(TAXONOMY)
    data = body["data"]
    materials = {m["code"]: m["family"] for m in data["materials"]}
    assert len(materials) >= 25
    assert materials["SUS304"] == "METAL"
    assert materials["PEEK"] == "PLASTIC"
    assert materials["AL2O3"] == "CERAMIC"
    assert materials["CFRP"] == "COMPOSITE"
    assert materials["NBR"] == "RUBBER"
    assert {c["code"] for c in data["certifications"]} == {
        "ISO9001",
        "JISQ9100",
        "ISO13485",
        "IATF16949",
        "ISO14001",
        "NADCAP",
    }
    prefectures = data["prefectures"]
    assert len(prefectures) == 47
    assert prefectures[0] == {"code": "01", "nameJa": "北海道", "nameEn": "Hokkaido"}
    assert {"code": "13", "nameJa": "東京都", "nameEn": "Tokyo"} in prefectures
    assert prefectures[-1]["code"] == "47"


async def test_taxonomy_for_signed_in_callers(gql: GraphQLClient, buyer: Caller, owner: Caller) -> None:
    for caller in (buyer, owner):
        body = await gql(TAXONOMY, token=caller.token)
        assert "errors" not in body
        assert len(body["data"]["prefectures"]) == 47


async def test_invalid_token_is_refused_even_for_the_taxonomy(gql: GraphQLClient) -> None:
    for query in (PROCESSES, TAXONOMY):
        body = await gql(query, token="mks_" + "x" * 43)
        assert error_code(body) == "UNAUTHENTICATED"
