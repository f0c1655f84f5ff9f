"""The conventions of docs/conventions.md that every domain relies on: errors, ids, the clock, settings."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from server import clock, db
from server.app import create_app
from server.auth import service as auth_service
from server.errors import ErrorCode, ValidationFailed
from server.rfqs import service as rfq_service
from server.settings import Settings
from server.validation import Errors, check_range
from tests.conftest import Caller, GraphQLClient, error_code, make_buyer


async def _client(pool: db.Pool, settings: Settings, **app_options: Any) -> AsyncIterator[GraphQLClient]:
    app = create_app(settings, pool=pool, **app_options)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        yield GraphQLClient(http)


@pytest.fixture
async def prod_gql(pool: db.Pool, tmp_path: Path) -> AsyncIterator[GraphQLClient]:
    async for client in _client(pool, Settings(database_url="unused", data_dir=tmp_path, env="prod")):
        yield client


def _explode(*args: object, **kwargs: object) -> object:
    raise RuntimeError("secret internal detail")


# --- errors -------------------------------------------------------------------------------------------


async def test_an_unexpected_error_is_logged_once_with_the_id_the_client_gets(
    prod_gql: GraphQLClient,
    coordinator: Caller,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(auth_service, "list_buyers", _explode)
    with caplog.at_level(logging.INFO, logger="machikoba.graphql"):
        body = await prod_gql("{ buyers { id } }", token=coordinator.token)
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    error_id = error["extensions"]["errorId"]
    # the client learns the id, not the internals
    assert error_id in error["message"]
    assert "secret" not in str(body)
    # the log has the id and the traceback, once
    logged = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(logged) == 1
    assert error_id in logged[0].getMessage()
    assert logged[0].exc_info is not None


async def test_unexpected_errors_keep_their_text_in_dev_but_still_get_an_id(
    gql: GraphQLClient, coordinator: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auth_service, "list_buyers", _explode)
    body = await gql("{ buyers { id } }", token=coordinator.token)
    (error,) = body["errors"]
    assert error["message"] == "secret internal detail"
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert len(error["extensions"]["errorId"]) == 12


async def test_expected_errors_are_one_info_line_without_traceback(
    gql: GraphQLClient, buyer: Caller, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="machikoba.graphql"):
        missing = await gql('{ rfq(id: "garbage") { id } }', token=buyer.token)
        anonymous = await gql("{ rfqs { totalCount } }")
        forbidden = await gql("{ buyers { id } }", token=buyer.token)
        bad_input = await gql("{ rfqs(first: 0) { totalCount } }", token=buyer.token)
    assert [error_code(b) for b in (missing, anonymous, forbidden, bad_input)] == [
        "NOT_FOUND",
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "BAD_USER_INPUT",
    ]
    records = [r for r in caplog.records if r.name == "machikoba.graphql"]
    assert len(records) == 4
    assert all(r.levelno == logging.INFO and r.exc_info is None for r in records)


async def test_forbidden_names_the_roles_in_plain_words(gql: GraphQLClient, owner: Caller) -> None:
    body = await gql('mutation { rfqCancel(id: "00000000-0000-0000-0000-000000000000") { errors { code } } }',
                     token=owner.token)  # fmt: skip
    assert error_code(body) == "FORBIDDEN"
    assert body["errors"][0]["message"] == "Only a buyer or a coordinator may do this."


def test_each_error_code_carries_its_description() -> None:
    for code in ErrorCode:
        assert code.code == code.name
        assert code.description.endswith(".")


def test_range_messages_print_plain_numbers() -> None:
    errors = Errors()
    check_range(errors, "quantity", 2_000_000, low=0.001, high=1_000_000)
    assert errors[0].message == "quantity must be between 0.001 and 1000000."


# --- ids ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "document",
    [
        '{ rfq(id: "not-a-uuid") { id } }',
        'mutation { rfqCancel(id: "not-a-uuid") { errors { code } } }',
        'mutation { apiKeyRevoke(id: "not-a-uuid") { errors { code } } }',
        '{ apiKeys(buyerId: "not-a-uuid") { id } }',
    ],
)
async def test_a_malformed_id_is_not_found(gql: GraphQLClient, coordinator: Caller, document: str) -> None:
    body = await gql(document, token=coordinator.token)
    assert error_code(body) == "NOT_FOUND"


async def test_api_keys_without_buyer_id_asks_for_the_argument(
    gql: GraphQLClient, coordinator: Caller
) -> None:
    body = await gql("{ apiKeys { id } }", token=coordinator.token)
    assert error_code(body) == "BAD_USER_INPUT"
    (problem,) = body["errors"][0]["extensions"]["errors"]
    assert (problem["field"], problem["code"]) == ("buyerId", "REQUIRED")
    assert "required" in problem["message"]


async def test_a_buyer_name_is_taken_once_whatever_its_case(gql: GraphQLClient, coordinator: Caller) -> None:
    onboard = """
    mutation($name: String!) {
      buyerOnboard(input: {name: $name, country: "US", currency: "USD"}) {
        buyer { id } errors { field code }
      }
    }
    """
    first = await gql(onboard, {"name": "Acme Robotics"}, token=coordinator.token)
    assert first["data"]["buyerOnboard"]["errors"] == []
    again = await gql(onboard, {"name": "  acme robotics "}, token=coordinator.token)
    assert again["data"]["buyerOnboard"]["errors"] == [{"field": "name", "code": "ALREADY_EXISTS"}]
    buyers = await gql("{ buyers { name } }", token=coordinator.token)
    assert [b["name"] for b in buyers["data"]["buyers"]] == ["Acme Robotics"]


# --- the clock and settings ---------------------------------------------------------------------------


def test_today_is_the_day_in_japan() -> None:
    # 16:00 UTC on 30 November is 01:00 on 1 December in Japan
    late_utc = clock.FixedClock(dt.datetime(2026, 11, 30, 16, 0, tzinfo=dt.UTC))
    assert clock.today(late_utc) == dt.date(2026, 12, 1)
    assert clock.end_of_day_jst(dt.date(2026, 12, 1)) == dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)
    assert clock.iso_monday(dt.date(2026, 12, 3)) == dt.date(2026, 11, 30)
    assert clock.iso_week_label(dt.date(2026, 11, 30)) == "2026-W49"


async def test_rfq_dates_are_judged_in_japan(pool: db.Pool, coordinator: Caller) -> None:
    buyer = await make_buyer(pool, coordinator, "Lion City Instruments", "SG")
    # still 30 November in UTC, already 1 December in Japan: a deadline of 30 November has passed
    today = clock.today(clock.FixedClock(dt.datetime(2026, 11, 30, 16, 0, tzinfo=dt.UTC)))
    data = rfq_service.RfqInput(
        title="Brackets",
        incoterm="DAP",
        destination_country="SG",
        due_date=dt.date(2027, 2, 1),
        bid_deadline=dt.date(2026, 11, 30),
        lines=[
            rfq_service.LineInput(
                name="Bracket",
                material="S45C",
                quantity=100,
                tolerance_um=Decimal(50),
                envelope_mm=80,
                operations=[rfq_service.OperationInput("cnc_turning")],
            )
        ],
    )
    with pytest.raises(ValidationFailed) as refused:
        await rfq_service.submit_rfq(pool, buyer.principal, data, today=today)
    assert [(e.field, e.code) for e in refused.value.errors] == [("bidDeadline", ErrorCode.DATE_IN_PAST)]


async def test_sessions_last_as_long_as_the_setting_says(pool: db.Pool, tmp_path: Path) -> None:
    settings = Settings.from_env({"MACHIKOBA_SESSION_TTL_HOURS": "2", "MACHIKOBA_DATA_DIR": str(tmp_path)})
    fixed = clock.FixedClock(dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC))
    await auth_service.create_coordinator(
        pool, email="office@cluster.example", password="correct horse battery", display_name="Office"
    )
    async for client in _client(pool, settings, clock=fixed):
        body = await client(
            "mutation { accountLogIn(input: "
            '{email: "office@cluster.example", password: "correct horse battery"}) { expiresAt } }'
        )
    assert body["data"]["accountLogIn"]["expiresAt"] == "2026-11-30T11:00:00+00:00"
