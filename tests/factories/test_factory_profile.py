"""factoryRegister, factoryUpdate and factory(id)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from server import db
from server.factories import repo
from tests.conftest import Caller, GraphQLClient, error_code
from tests.factories.conftest import LAST_MONTH, NEXT_YEAR, make_factory

REGISTER = """
mutation($input: FactoryRegisterInput!) {
  factoryRegister(input: $input) {
    factory {
      id nameJa nameEn city cluster employees foundedYear description isMine
      prefecture { code nameEn }
      certifications { code name validUntil isValid }
    }
    errors { field code message }
  }
}
"""
UPDATE = """
mutation($id: ID!, $input: FactoryUpdateInput!) {
  factoryUpdate(id: $id, input: $input) {
    factory { id nameJa nameEn city cluster employees prefecture { code } certifications { code validUntil } }
    errors { field code message }
  }
}
"""
FACTORY = "query($id: ID!) { factory(id: $id) { id nameEn isMine prefecture { nameEn } } }"


def register_input(**changes: Any) -> dict[str, Any]:
    return {
        "input": {
            "nameJa": "佐藤精密",
            "nameEn": "Sato Precision",
            "prefecture": "13",
            "city": "Ota-ku",
            "cluster": "Ota",
            "employees": 25,
            "foundedYear": 1962,
            "description": "Swiss-type turning of small stainless parts.",
            "certifications": [{"code": "ISO9001", "validUntil": NEXT_YEAR.isoformat()}],
            **changes,
        }
    }


async def count_factories(pool: db.Pool) -> int:
    async with pool.acquire() as conn:
        count: int = await conn.fetchval("SELECT count(*) FROM factories")
    return count


# --- register -----------------------------------------------------------------------------------------


async def test_owner_registers_a_factory(
    gql: GraphQLClient, owner: Caller, buyer: Caller, coordinator: Caller
) -> None:
    # when
    body = await gql(REGISTER, register_input(prefecture="1"), token=owner.token)
    # then
    payload = body["data"]["factoryRegister"]
    assert payload["errors"] == []
    factory = payload["factory"]
    assert factory["nameEn"] == "Sato Precision"
    assert factory["prefecture"] == {"code": "01", "nameEn": "Hokkaido"}
    assert factory["isMine"] is True
    assert factory["certifications"] == [
        {
            "code": "ISO9001",
            "name": "ISO 9001 quality management",
            "validUntil": NEXT_YEAR.isoformat(),
            "isValid": True,
        }
    ]
    # pending: the cluster office has not vouched for it, so only its owner and coordinators see it
    assert error_code(await gql(FACTORY, {"id": factory["id"]}, token=buyer.token)) == "NOT_FOUND"
    status = "query($id: ID!) { factory(id: $id) { approvalStatus approvalNote } }"
    mine = await gql(status, {"id": factory["id"]}, token=owner.token)
    assert mine["data"]["factory"] == {"approvalStatus": "PENDING", "approvalNote": ""}
    approve = 'mutation($id: ID!) { factoryApprove(id: $id, note: "Welcome") { errors { code } } }'
    assert error_code(await gql(approve, {"id": factory["id"]}, token=owner.token)) == "FORBIDDEN"
    approved = await gql(approve, {"id": factory["id"]}, token=coordinator.token)
    assert approved["data"]["factoryApprove"]["errors"] == []
    seen = await gql(FACTORY, {"id": factory["id"]}, token=buyer.token)
    assert seen["data"]["factory"]["isMine"] is False
    assert seen["data"]["factory"]["prefecture"] == {"nameEn": "Hokkaido"}
    assert (await gql(status, {"id": factory["id"]}, token=buyer.token))["data"]["factory"] == {
        "approvalStatus": "APPROVED",
        "approvalNote": None,
    }


async def test_a_rejected_factory_reads_why_and_disappears_from_the_registry(
    gql: GraphQLClient, pool: db.Pool, owner: Caller, other_owner: Caller, coordinator: Caller
) -> None:
    factory = await make_factory(pool, owner, "Sato Precision")
    reject = (
        "mutation($id: ID!, $r: String!) { factoryReject(id: $id, reason: $r) { errors { field code } } }"
    )
    empty = await gql(reject, {"id": str(factory.id), "r": " "}, token=coordinator.token)
    assert empty["data"]["factoryReject"]["errors"] == [{"field": "reason", "code": "REQUIRED"}]
    body = await gql(reject, {"id": str(factory.id), "r": "No machine list."}, token=coordinator.token)
    assert body["data"]["factoryReject"]["errors"] == []
    listing = "{ factories { totalCount } clusters { name factoryCount } }"
    assert (await gql(listing, token=other_owner.token))["data"] == {
        "factories": {"totalCount": 0},
        "clusters": [],
    }
    assert (await gql(listing, token=owner.token))["data"]["factories"] == {"totalCount": 1}
    assert (await gql(listing, token=coordinator.token))["data"]["factories"] == {"totalCount": 1}
    note = await gql(
        "query($id: ID!) { factory(id: $id) { approvalNote } }", {"id": str(factory.id)}, token=owner.token
    )
    assert note["data"]["factory"]["approvalNote"] == "No machine list."


async def test_an_owner_may_own_several_factories(gql: GraphQLClient, owner: Caller, pool: db.Pool) -> None:
    for name in ("Sato Precision", "Sato Precision Plant 2"):
        body = await gql(REGISTER, register_input(nameEn=name), token=owner.token)
        assert body["data"]["factoryRegister"]["errors"] == []
    assert await count_factories(pool) == 2


async def test_register_is_for_factory_owners_only(
    gql: GraphQLClient, buyer: Caller, coordinator: Caller, pool: db.Pool
) -> None:
    assert error_code(await gql(REGISTER, register_input())) == "UNAUTHENTICATED"
    assert error_code(await gql(REGISTER, register_input(), token=buyer.token)) == "FORBIDDEN"
    assert error_code(await gql(REGISTER, register_input(), token=coordinator.token)) == "FORBIDDEN"
    assert await count_factories(pool) == 0


async def test_register_reports_every_problem_and_writes_nothing(
    gql: GraphQLClient, owner: Caller, pool: db.Pool
) -> None:
    # given
    variables = register_input(
        nameJa="  ",
        nameEn="x" * 201,
        prefecture="48",
        employees=0,
        foundedYear=1500,
        description="y" * 4001,
        certifications=[
            {"code": "ISO9999", "validUntil": NEXT_YEAR.isoformat()},
            {"code": "iso9001", "validUntil": NEXT_YEAR.isoformat()},
            {"code": "ISO9001", "validUntil": NEXT_YEAR.isoformat()},
        ],
    )
    # when
    body = await gql(REGISTER, variables, token=owner.token)
    # then
    payload = body["data"]["factoryRegister"]
    assert payload["factory"] is None
    assert {(e["field"], e["code"]) for e in payload["errors"]} == {
        ("nameJa", "REQUIRED"),
        ("nameEn", "TOO_LONG"),
        ("prefecture", "UNKNOWN_PREFECTURE"),
        ("employees", "OUT_OF_RANGE"),
        ("foundedYear", "OUT_OF_RANGE"),
        ("description", "TOO_LONG"),
        ("certifications.0.code", "UNKNOWN_CERTIFICATION"),
        ("certifications.2.code", "INVALID"),
    }
    assert await count_factories(pool) == 0


async def test_register_refuses_unstorable_text(gql: GraphQLClient, owner: Caller, pool: db.Pool) -> None:
    # given: a NUL and a lone surrogate, which JSON can carry as escapes but PostgreSQL cannot store
    variables = register_input(nameEn="Sato\u0000Precision", city="\ud800")
    # when: sent as ASCII JSON (the escapes as a client writes them)
    response = await gql.http.post(
        "/graphql",
        content=json.dumps({"query": REGISTER, "variables": variables}),
        headers={"Authorization": f"Bearer {owner.token}", "Content-Type": "application/json"},
    )
    # then
    assert response.status_code == 200
    errors = response.json()["data"]["factoryRegister"]["errors"]
    assert {(e["field"], e["code"]) for e in errors} == {("nameEn", "INVALID"), ("city", "INVALID")}
    assert await count_factories(pool) == 0


async def test_register_far_off_certificate_date_is_out_of_range(gql: GraphQLClient, owner: Caller) -> None:
    body = await gql(
        REGISTER,
        register_input(certifications=[{"code": "ISO9001", "validUntil": "9999-12-31"}]),
        token=owner.token,
    )
    errors = body["data"]["factoryRegister"]["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [("certifications.0.validUntil", "OUT_OF_RANGE")]


# --- update -------------------------------------------------------------------------------------------


async def test_owner_updates_some_fields_and_keeps_the_rest(
    gql: GraphQLClient, owner: Caller, factory: repo.Factory
) -> None:
    # when
    body = await gql(
        UPDATE,
        {
            "id": str(factory.id),
            "input": {
                "city": "Kamata",
                "cluster": None,
                "certifications": [{"code": "JISQ9100", "validUntil": NEXT_YEAR.isoformat()}],
            },
        },
        token=owner.token,
    )
    # then
    payload = body["data"]["factoryUpdate"]
    assert payload["errors"] == []
    assert payload["factory"] == {
        "id": str(factory.id),
        "nameJa": factory.name_ja,
        "nameEn": factory.name_en,
        "city": "Kamata",
        "cluster": None,
        "employees": factory.employees,
        "prefecture": {"code": "13"},
        "certifications": [{"code": "JISQ9100", "validUntil": NEXT_YEAR.isoformat()}],
    }


async def test_coordinator_updates_any_factory(
    gql: GraphQLClient, coordinator: Caller, factory: repo.Factory
) -> None:
    body = await gql(UPDATE, {"id": str(factory.id), "input": {"prefecture": "27"}}, token=coordinator.token)
    payload = body["data"]["factoryUpdate"]
    assert payload["errors"] == []
    assert payload["factory"]["prefecture"] == {"code": "27"}
    assert len(payload["factory"]["certifications"]) == 1  # kept: not in the input


async def test_update_denied_callers(
    gql: GraphQLClient, other_owner: Caller, buyer: Caller, factory: repo.Factory, pool: db.Pool
) -> None:
    variables = {"id": str(factory.id), "input": {"city": "Elsewhere"}}
    assert error_code(await gql(UPDATE, variables)) == "UNAUTHENTICATED"
    assert error_code(await gql(UPDATE, variables, token=buyer.token)) == "FORBIDDEN"
    assert error_code(await gql(UPDATE, variables, token=other_owner.token)) == "FORBIDDEN"
    async with pool.acquire() as conn:
        unchanged = await repo.factory_by_id(conn, factory_id=factory.id)
    assert unchanged is not None
    assert unchanged.city == factory.city


async def test_update_unknown_or_malformed_id_is_not_found(
    gql: GraphQLClient, owner: Caller, factory: repo.Factory
) -> None:
    for factory_id in (str(uuid.uuid4()), "not-a-uuid", ""):
        body = await gql(UPDATE, {"id": factory_id, "input": {"city": "X"}}, token=owner.token)
        assert error_code(body) == "NOT_FOUND", factory_id


async def test_update_reports_every_problem_and_writes_nothing(
    gql: GraphQLClient, owner: Caller, factory: repo.Factory, pool: db.Pool
) -> None:
    # when
    body = await gql(
        UPDATE,
        {
            "id": str(factory.id),
            "input": {
                "nameJa": None,
                "city": "Kamata",
                "prefecture": "99",
                "certifications": [{"code": "ISO0000", "validUntil": LAST_MONTH.isoformat()}],
            },
        },
        token=owner.token,
    )
    # then
    payload = body["data"]["factoryUpdate"]
    assert payload["factory"] is None
    assert {(e["field"], e["code"]) for e in payload["errors"]} == {
        ("nameJa", "REQUIRED"),
        ("prefecture", "UNKNOWN_PREFECTURE"),
        ("certifications.0.code", "UNKNOWN_CERTIFICATION"),
    }
    async with pool.acquire() as conn:
        unchanged = await repo.factory_by_id(conn, factory_id=factory.id)
        certs = await repo.certifications_by_factory_ids(conn, factory_ids=[factory.id])
    assert unchanged is not None
    assert unchanged.city == factory.city
    assert [c.code for c in certs] == ["ISO9001"]


# --- factory(id) --------------------------------------------------------------------------------------


async def test_factory_by_id_for_signed_in_callers_only(
    gql: GraphQLClient, owner: Caller, other_owner: Caller, buyer: Caller, factory: repo.Factory
) -> None:
    variables = {"id": str(factory.id)}
    assert error_code(await gql(FACTORY, variables)) == "UNAUTHENTICATED"
    mine = await gql(FACTORY, variables, token=owner.token)
    assert mine["data"]["factory"]["isMine"] is True
    for caller in (other_owner, buyer):
        body = await gql(FACTORY, variables, token=caller.token)
        assert body["data"]["factory"] == {
            "id": str(factory.id),
            "nameEn": "Sato Precision",
            "isMine": False,
            "prefecture": {"nameEn": "Tokyo"},
        }


async def test_factory_by_unknown_or_malformed_id_is_not_found(gql: GraphQLClient, buyer: Caller) -> None:
    for factory_id in (str(uuid.uuid4()), "12345", "x" * 1000):
        body = await gql(FACTORY, {"id": factory_id}, token=buyer.token)
        assert error_code(body) == "NOT_FOUND"
        assert body["data"] is None  # `factory` is non-null: the error stands in for the whole result
