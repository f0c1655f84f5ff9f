"""The checked path (``MachikobaGraphQL.run_checked``) answers exactly what strawberry's view answers.

A JSON POST of a document that an earlier request got parsed and validated skips strawberry's HTTP view and
extension hooks. Every request below is sent to two apps over the same database, one with the checked path
and one without (``checked_path=False``), and the two answers must be equal: status, media type and body
text. The requests cover every caller class, both media types a client may accept, variables that coerce
and that do not, a cost over the limit, the choice of an operation by name, and a mutation refused with
payload errors; a counter on ``execute_checked`` shows which of them the checked path answered.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from schema.schema import MachikobaSchema
from server import clock as clocks
from server import db
from server.app import create_app
from server.demo.seed import seed_demo
from server.settings import Settings
from tests.conftest import Caller
from tests.rfqs.conftest import SUBMIT, rfq_input
from tests.server.test_read_snapshots import DOCUMENTS as SNAPSHOT_DOCUMENTS
from tests.server.test_read_snapshots import _callers

MODERN = {"accept": "application/graphql-response+json", "content-type": "application/json"}
LEGACY = {"accept": "application/json", "content-type": "application/json"}

PAGE = "query Page($n: Int) { factories(first: $n) { totalCount edges { node { id nameEn } } } }"
COSTLY = """query Costly($n: Int) { factories(first: $n) { edges { node {
    capabilities { processCode materials minLot } } } } }"""
TWO_OPERATIONS = "query Mine { me { role } } query Materials { materials { code nameEn } }"


@dataclass(frozen=True)
class Case:
    """One request, and whether the checked path answers it once its document was validated before."""

    name: str
    query: str
    variables: dict[str, Any] | None = None
    operation_name: str | None = None
    checked: bool = True

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"query": self.query, "variables": self.variables}
        if self.operation_name is not None:
            body["operationName"] = self.operation_name
        return body


def cases() -> list[Case]:
    reads = [Case(name, query) for name, query in SNAPSHOT_DOCUMENTS.items()]
    return [
        *reads,
        Case("page", PAGE, {"n": 3}, "Page"),
        Case("page without a size", PAGE, {}),
        Case("page size not an Int", PAGE, {"n": "three"}),
        Case("page size out of range", PAGE, {"n": 0}),
        Case("cost within the limit", COSTLY, {"n": 2}),
        # the same text, but these variables make it cost more than the limit: the general path refuses it
        Case("cost over the limit", COSTLY, {"n": 100_000}, checked=False),
        Case("the first of two operations", TWO_OPERATIONS, None, "Mine"),
        Case("the second of two operations", TWO_OPERATIONS, None, "Materials"),
        Case("two operations and no name", TWO_OPERATIONS, None, checked=False),
        Case("an operation name not in the document", TWO_OPERATIONS, None, "Other", checked=False),
        # refused with payload errors for a buyer, with an auth error for everyone else; nothing is written
        Case("a submission without lines", SUBMIT, {"input": rfq_input(lines=[])}),
    ]


Answer = tuple[int, str, str]


async def answers(
    app_settings: Settings,
    pool: db.Pool,
    clock: clocks.Clock,
    tokens: list[str | None],
    requests: list[Case],
    checked_runs: list[str | None],
) -> list[Answer]:
    """Each caller's answer to each request under each media type, after a first round that lets the app
    see every document once (``checked_runs`` is emptied after it)."""
    app = create_app(app_settings, pool=pool, clock=clock)
    answered: list[Answer] = []
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as http:
        for case in requests:  # first sight of each document: the general path parses and validates it
            await http.post("/graphql", json=case.body(), headers=LEGACY)
        checked_runs.clear()
        for token in tokens:
            auth = {"authorization": f"Bearer {token}"} if token else {}
            for headers in (MODERN, LEGACY):
                for case in requests:
                    response = await http.post("/graphql", json=case.body(), headers={**headers, **auth})
                    answered.append((response.status_code, response.headers["content-type"], response.text))
    return answered


@pytest.fixture
def checked_runs(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """The operation names the checked path executed, in order (a spy around ``execute_checked``)."""
    runs: list[str | None] = []
    original = MachikobaSchema.execute_checked

    async def spy(self: MachikobaSchema, document: Any, **kwargs: Any) -> Any:
        runs.append(kwargs["operation_name"])
        return await original(self, document, **kwargs)

    monkeypatch.setattr(MachikobaSchema, "execute_checked", spy)
    return runs


async def test_the_checked_path_answers_what_the_general_path_answers_for_every_caller(
    pool: db.Pool, settings: Settings, clock: clocks.Clock, checked_runs: list[str | None]
) -> None:
    # given the demo and every caller class, in prod (masked errors, no suggestions) as served; without the
    # response cache, which would answer repeated registry reads before either path
    await seed_demo(pool, today=clocks.today(clock))
    callers = await _callers(pool)
    tokens = list(callers.values())
    prod = replace(settings, env="prod", response_cache=False)
    requests = cases()

    # when each request runs on the general path alone, then with the checked path
    general = await answers(replace(prod, checked_path=False), pool, clock, tokens, requests, checked_runs)
    assert checked_runs == []
    checked = await answers(prod, pool, clock, tokens, requests, checked_runs)

    # then every answer is the same, byte for byte
    assert len(checked) == len(tokens) * 2 * len(requests)
    for index, (fast, slow) in enumerate(zip(checked, general, strict=True)):
        case = requests[index % len(requests)]
        assert fast == slow, case.name
    # and the checked path answered every request it may take, after the first round, and no other
    assert len(checked_runs) == len(tokens) * 2 * sum(case.checked for case in requests)
    # the cases test what they say: a coercion error, a cost refusal, a payload error, answers with data
    codes = {requests[i % len(requests)].name: (status, text) for i, (status, _, text) in enumerate(general)}
    assert '"QUERY_TOO_COSTLY"' in codes["cost over the limit"][1]
    assert "has invalid value" in codes["page size not an Int"][1]
    buyer = list(callers).index("buyer")
    buyer_answers = general[buyer * 2 * len(requests) :][: len(requests)]
    assert '"field":"lines"' in buyer_answers[-1][2]
    assert '"edges":[{' in buyer_answers[[c.name for c in requests].index("page")][2]
    assert '"minLot":' in buyer_answers[[c.name for c in requests].index("cost within the limit")][2]


async def test_a_timeout_on_the_checked_path_is_the_general_paths_timeout(
    pool: db.Pool, settings: Settings, owner: Caller, checked_runs: list[str | None]
) -> None:
    app = create_app(replace(settings, request_timeout_s=0.000_001), pool=pool)
    body = {"query": "query Count { factories { totalCount } }"}
    headers = {**MODERN, "authorization": f"Bearer {owner.token}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as http:
        first = await http.post("/graphql", json=body, headers=headers)
        second = await http.post("/graphql", json=body, headers=headers)
    assert checked_runs == [None]  # the first request validated the document; the second ran it directly
    assert (first.status_code, first.json()) == (second.status_code, second.json())
    assert second.status_code == 503
    assert second.json()["errors"][0]["extensions"]["code"] == "TIMEOUT"


def test_the_checked_path_is_on_unless_the_environment_turns_it_off(tmp_path: Path) -> None:
    assert Settings.from_env({"MACHIKOBA_DATA_DIR": str(tmp_path)}).checked_path is True
    off = Settings.from_env({"MACHIKOBA_DATA_DIR": str(tmp_path), "MACHIKOBA_CHECKED_PATH": "0"})
    assert off.checked_path is False
