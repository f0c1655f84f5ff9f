"""The README's examples run as written against the demo data: its GraphQL documents (with the variables its
one-liner prints) and its curl command, whatever today's date is."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from graphql import parse, validate

from schema.schema import build_schema
from server import db
from server.demo import seed_demo
from server.demo.seed import DEMO_BUYERS
from tests.conftest import GraphQLClient

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
ACME_KEY = DEMO_BUYERS[0][3]

# A stand-in for curl: prints its arguments as JSON, so the test sees exactly what the shell passed
# (quoting, the dates expanded) and posts it to the app in-process, with no port and no curl binary.
CURL_RECORDER = "curl() { python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' \"$@\"; }\n"


def readme_blocks(language: str) -> list[str]:
    """The code blocks fenced as ```language, in README order."""
    return [m.group(1) for m in re.finditer(rf"^```{language}\n(.*?)^```", README, re.MULTILINE | re.DOTALL)]


def shell_block_with(marker: str) -> str:
    (block,) = [b for b in readme_blocks("sh") if marker in b]
    return block


def run_shell(script: str) -> str:
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30, check=True)
    return result.stdout


def no_errors(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = body["data"]
    return data


@pytest.fixture
async def demo(pool: db.Pool) -> None:
    # The whole demo into the test database: ~1 s, and the README talks about exactly this data.
    await seed_demo(pool)


def test_readme_uses_the_demo_buyers_key() -> None:
    assert f"Bearer {ACME_KEY}" in README


@pytest.mark.usefixtures("demo")
async def test_readme_graphql_examples_run(gql: GraphQLClient) -> None:
    today = dt.date.today()
    variables = json.loads(run_shell(shell_block_with("json.dumps")))
    documents = readme_blocks("graphql")
    assert len(documents) >= 2

    # the factory search lists Ota shops with 5-axis machining
    ota = no_errors(await gql(documents[0], token=ACME_KEY))["factories"]
    assert ota["totalCount"] > 0
    assert ota["edges"]
    for edge in ota["edges"]:
        assert edge["node"]["capabilities"]

    # the RFQ goes in with the dates the one-liner printed
    submitted = no_errors(await gql(documents[1], variables, token=ACME_KEY))["rfqSubmit"]
    assert submitted["errors"] == []
    rfq = submitted["rfq"]
    assert rfq["status"] == "OPEN"
    assert rfq["currency"] == "USD"
    assert dt.date.fromisoformat(rfq["bidDeadline"]) > today
    assert dt.date.fromisoformat(rfq["dueDate"]) > dt.date.fromisoformat(rfq["bidDeadline"])
    assert [op["position"] for op in rfq["lines"][0]["operations"]] == [1, 2, 3]


@pytest.mark.usefixtures("demo")
async def test_readme_curl_example_runs(gql: GraphQLClient) -> None:
    # given the README's shell commands, with curl recorded instead of run
    args: list[str] = json.loads(run_shell(CURL_RECORDER + shell_block_with("curl ")))
    url = next(arg for arg in args if arg.startswith("http"))
    assert url == "http://127.0.0.1:8000/graphql"  # where `make demo` serves
    headers = dict(args[i + 1].split(": ", 1) for i, arg in enumerate(args) if arg == "-H")
    payload = args[args.index("-d") + 1]
    # when it is posted to the app
    response = await gql.http.post("/graphql", content=payload, headers=headers)
    # then the RFQ is filed
    assert response.status_code == 200, response.text
    submitted = no_errors(response.json())["rfqSubmit"]
    assert submitted["errors"] == []
    assert submitted["rfq"]["status"] == "OPEN"


def test_readme_flow_documents_are_valid_against_the_schema() -> None:
    # The flow's documents need ids of a running demo; here each must at least parse and validate.
    schema = build_schema(mask_errors=False)
    documents = readme_blocks("graphql")
    assert len(documents) == 6
    for document in documents:
        errors = validate(schema._schema, parse(document))
        assert errors == [], (document, errors)
