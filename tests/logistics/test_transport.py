"""Transport between prefectures: the derived bands, and coordinators' overrides."""

from __future__ import annotations

import pytest

from server.logistics.transport import Capital, derived_link, great_circle_km
from tests.conftest import Caller, GraphQLClient, error_code

TOKYO = Capital("13", 35.6894, 139.6917)
KANAGAWA = Capital("14", 35.4478, 139.6425)
OSAKA = Capital("27", 34.6864, 135.5200)
FUKUOKA = Capital("40", 33.6064, 130.4181)
HOKKAIDO = Capital("01", 43.0642, 141.3469)
KAGOSHIMA = Capital("46", 31.5603, 130.5581)
OKINAWA = Capital("47", 26.2125, 127.6811)

LINK = """
query($a: String!, $b: String!) {
  transportLink(fromPrefecture: $a, toPrefecture: $b) {
    days costJpy overridden fromPrefecture { nameEn } toPrefecture { nameEn }
  }
}
"""
SET = """
mutation($input: TransportLinkSetInput!) {
  transportLinkSet(input: $input) { link { days costJpy overridden } errors { field code } }
}
"""


def test_tokyo_to_osaka_is_about_400_km_as_the_crow_flies() -> None:
    assert 390 < great_circle_km(TOKYO, OSAKA) < 410


@pytest.mark.parametrize(
    ("a", "b", "days", "cost"),
    [
        (TOKYO, TOKYO, 0, 5_000),
        (TOKYO, KANAGAWA, 1, 15_000),
        (TOKYO, OSAKA, 2, 55_000),
        (TOKYO, FUKUOKA, 3, 85_000),
        (HOKKAIDO, KAGOSHIMA, 4, 120_000),
        (OSAKA, OKINAWA, 4 + 2, 120_000 + 40_000),  # ~1,200 km by air: the last band, plus the sea leg
    ],
)
def test_the_bands(a: Capital, b: Capital, days: int, cost: int) -> None:
    link = derived_link(a, b)
    assert (link.days, link.cost_jpy) == (days, cost)
    # either direction, stored lower code first
    assert derived_link(b, a) == link
    assert link.from_prefecture <= link.to_prefecture


async def test_signed_in_callers_read_links(gql: GraphQLClient, owner: Caller) -> None:
    body = await gql(LINK, {"a": "27", "b": "13"}, token=owner.token)
    assert body["data"]["transportLink"] == {
        "days": 2,
        "costJpy": 55_000,
        "overridden": False,
        "fromPrefecture": {"nameEn": "Tokyo"},
        "toPrefecture": {"nameEn": "Osaka"},
    }
    assert error_code(await gql(LINK, {"a": "27", "b": "13"})) == "UNAUTHENTICATED"
    unknown = await gql(LINK, {"a": "27", "b": "48"}, token=owner.token)
    assert error_code(unknown) == "BAD_USER_INPUT"
    assert unknown["errors"][0]["extensions"]["errors"][0]["code"] == "UNKNOWN_PREFECTURE"


async def test_coordinators_override_and_reset_a_pair(
    gql: GraphQLClient, coordinator: Caller, owner: Caller
) -> None:
    change = {"fromPrefecture": "13", "toPrefecture": "27", "days": 1, "costJpy": 40_000}
    assert error_code(await gql(SET, {"input": change}, token=owner.token)) == "FORBIDDEN"
    body = await gql(SET, {"input": change}, token=coordinator.token)
    assert body["data"]["transportLinkSet"] == {
        "link": {"days": 1, "costJpy": 40_000, "overridden": True},
        "errors": [],
    }
    # the other direction reads the same override
    back = await gql(LINK, {"a": "27", "b": "13"}, token=owner.token)
    assert back["data"]["transportLink"]["overridden"] is True
    # half an override is refused; neither figure resets it
    half = await gql(
        SET, {"input": {"fromPrefecture": "13", "toPrefecture": "27", "days": 1}}, token=coordinator.token
    )
    assert half["data"]["transportLinkSet"]["errors"] == [{"field": "costJpy", "code": "REQUIRED"}]
    reset = await gql(SET, {"input": {"fromPrefecture": "13", "toPrefecture": "27"}}, token=coordinator.token)
    assert reset["data"]["transportLinkSet"]["link"] == {"days": 2, "costJpy": 55_000, "overridden": False}
