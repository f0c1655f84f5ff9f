# mypy: disallow-untyped-decorators=False
"""schema.executor.FastExecutor answers exactly what strawberry's own executor answers: data and errors.

A schema of its own covers every kind of plain field (scalars, dates, decimals, enums, nulls, lists, nested
plain objects, lists of plain objects returned by a resolver) beside the fields that must stay on the
general path (resolvers, arguments, permission classes, interfaces), and values that are not the ordinary
case (a null in a non-null field, a value of the wrong type, an exception, an awaitable as an attribute).
Each document runs on two schemas built from the same types, one with the fast executor and one without,
and the two results must be equal, errors with their messages, paths and locations included.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import httpx
import pytest
import strawberry
from strawberry.permission import BasePermission
from strawberry.types import ExecutionResult

from schema import executor as fast_executor
from schema.executor import FastExecutor, preloaded
from schema.limits import DocumentCache, TokenLimiter
from server import clock as clocks
from server import db
from server.app import create_app
from server.demo.seed import seed_demo
from server.settings import Settings
from tests.server.test_read_snapshots import DOCUMENTS as SNAPSHOT_DOCUMENTS
from tests.server.test_read_snapshots import NOW, _callers


@strawberry.enum(description="A colour.")
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type(description="Innermost plain object.")
class Leaf:
    code: str = strawberry.field(description="Code.")
    weight: float | None = strawberry.field(description="Weight.")


@strawberry.type(description="A plain object with every kind of plain field.")
class Part:
    id: strawberry.ID = strawberry.field(description="Id.")
    name: str = strawberry.field(description="Name.")
    count: int = strawberry.field(description="Count.")
    ratio: float | None = strawberry.field(description="Ratio.")
    active: bool = strawberry.field(description="Active.")
    due: dt.date = strawberry.field(description="Due day.")
    updated_at: dt.datetime | None = strawberry.field(description="Updated.")
    price: decimal.Decimal | None = strawberry.field(description="Price.")
    colour: Colour = strawberry.field(description="Colour.")
    maybe_colour: Colour | None = strawberry.field(description="Maybe a colour.")
    tags: list[str] = strawberry.field(description="Tags.")
    maybe_tags: list[str | None] | None = strawberry.field(description="Maybe tags.")
    leaf: Leaf = strawberry.field(description="A nested plain object.")
    maybe_leaf: Leaf | None = strawberry.field(description="Maybe a nested plain object.")
    leaves: list[Leaf] = strawberry.field(description="Nested plain objects.")


class Never(BasePermission):
    message = "Not for you."
    calls = 0

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        Never.calls += 1
        return False


@strawberry.interface(description="Something with a label.")
class Labelled:
    label: str = strawberry.field(description="Label.")


@strawberry.type(description="A labelled thing: an interface's object (is_type_of) stays general.")
class Tag(Labelled):
    weight: int = strawberry.field(description="Weight.")


@strawberry.type(description="An object mixing plain and general fields.")
class Holder:
    title: str = strawberry.field(description="Title.")
    part: Part = strawberry.field(description="A plain part.")
    secret: str | None = strawberry.field(description="Guarded.", permission_classes=[Never])
    tag: Tag = strawberry.field(description="An interface's object.")
    parts_value: strawberry.Private[list[Part]]
    loaded_parts: strawberry.Private[list[Part] | None] = None

    @strawberry.field(description="Parts a page loaded, else the resolver's.")
    @preloaded("loaded_parts")
    def preloaded_parts(self) -> list[Part]:
        if self.loaded_parts is not None:
            return self.loaded_parts
        return self.parts_value[:1]

    @strawberry.field(
        description="Preloaded but guarded: the permission keeps it general.", permission_classes=[Never]
    )
    @preloaded("loaded_parts")
    def guarded_parts(self) -> list[Part] | None:
        return self.loaded_parts

    @strawberry.field(description="Parts from a resolver.")
    def parts(self) -> list[Part]:
        return self.parts_value

    @strawberry.field(description="Parts from an async resolver.")
    async def async_parts(self) -> list[Part]:
        return self.parts_value

    @strawberry.field(description="A field with an argument.")
    def greet(self, name: str) -> str:
        return f"hello {name}"


def part(n: int, **overrides: Any) -> Part:
    values: dict[str, Any] = {
        "id": strawberry.ID(f"p{n}"),
        "name": f"part {n}",
        "count": n,
        "ratio": None if n % 2 else n / 3,
        "active": n % 2 == 0,
        "due": dt.date(2026, 12, n + 1),
        "updated_at": dt.datetime(2026, 11, 30, 3, n, tzinfo=dt.UTC) if n % 2 else None,
        "price": decimal.Decimal("12.50") * n if n % 3 else None,
        "colour": Colour.RED if n % 2 else Colour.BLUE,
        "maybe_colour": None if n % 2 else Colour.RED,
        "tags": [f"t{n}", "x"],
        "maybe_tags": None if n % 2 else ["a", None],
        "leaf": Leaf(code=f"L{n}", weight=None),
        "maybe_leaf": None if n % 2 else Leaf(code="M", weight=1.5),
        "leaves": [Leaf(code=f"a{n}", weight=float(n)), Leaf(code=f"b{n}", weight=None)],
    }
    values.update(overrides)
    return Part(**values)


def holder(parts: list[Part], loaded: list[Part] | None = None) -> Holder:
    return Holder(
        title="the holder",
        part=parts[0],
        secret="s",
        tag=Tag(label="red", weight=3),
        parts_value=parts,
        loaded_parts=loaded,
    )


async def _never() -> str:
    return "late"


def make_query(root: Holder) -> type:
    @strawberry.type(description="Root.")
    class Query:
        @strawberry.field(description="The holder.")
        def holder(self) -> Holder:
            return root

        @strawberry.field(description="Parts, from the root.")
        def parts(self) -> list[Part]:
            return root.parts_value

    return Query


def schemas(root: Holder) -> tuple[strawberry.Schema, strawberry.Schema]:
    query = make_query(root)
    return (
        strawberry.Schema(query=query, execution_context_class=FastExecutor),
        strawberry.Schema(query=query),
    )


def shape(result: ExecutionResult) -> dict[str, Any]:
    return {
        # as text: the keys' order counts too (dicts compare equal in any order)
        "data": json.dumps(result.data, default=str),
        "errors": [
            {"message": e.message, "path": e.path, "locations": e.locations, "extensions": e.extensions}
            for e in result.errors or []
        ],
    }


async def both(root: Holder, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    fast, general = schemas(root)
    fast_result = await fast.execute(document, variable_values=variables)
    general_result = await general.execute(document, variable_values=variables)
    assert shape(fast_result) == shape(general_result)
    return shape(fast_result)


PART_FIELDS = """
  id name count ratio active due updatedAt price colour maybeColour tags maybeTags
  leaf { code weight } maybeLeaf { code weight __typename } leaves { code weight }
"""

DOCUMENTS = {
    "every plain field": f"{{ parts {{ {PART_FIELDS} }} holder {{ title part {{ {PART_FIELDS} }} }} }}",
    "aliases and typename": """
        { holder { __typename t: title again: title
                   part { __typename n: name n2: count leaf { c: code __typename } } } }
    """,
    "fragments and inline fragments": """
        query { holder { ...H part { ... on Part { name colour } ...P } parts { ...P } } }
        fragment H on Holder { title tag { label weight } }
        fragment P on Part { id name leaves { code } ... on Part { due price } }
    """,
    "resolvers, async resolvers, arguments, interfaces": f"""
        {{ holder {{ greet(name: "x") asyncParts {{ {PART_FIELDS} }} parts {{ name leaf {{ code }} }}
                     tag {{ __typename label ... on Labelled {{ label }} }} }} }}
    """,
    "permission class": "{ holder { title secret part { name } } }",
    "same field twice, merged": "{ holder { part { name } part { count leaf { code } } } }",
}


@pytest.mark.parametrize("name", list(DOCUMENTS))
async def test_fast_executor_answers_as_the_general_one(name: str) -> None:
    answer = await both(holder([part(n) for n in range(1, 6)]), DOCUMENTS[name])
    assert answer["data"] != "null"


async def test_skip_and_include_with_variables() -> None:
    document = """
        query Q($a: Boolean!, $b: Boolean!) {
          holder { title @skip(if: $a) part { name @include(if: $b) count leaf @skip(if: $b) { code } } }
          parts { ... on Part @include(if: $a) { id } name @skip(if: $a) }
        }
    """
    root = holder([part(n) for n in range(1, 4)])
    for a in (True, False):
        for b in (True, False):
            await both(root, document, {"a": a, "b": b})


async def test_permission_checks_still_run_on_the_fast_executor() -> None:
    Never.calls = 0
    fast, _general = schemas(holder([part(1)]))
    result = await fast.execute("{ holder { title secret } }")
    assert Never.calls == 1
    assert result.data == {"holder": {"title": "the holder", "secret": None}}
    assert [e.message for e in result.errors or []] == ["Not for you."]


class _AwaitableAttribute:
    """An awaitable value (a fresh coroutine on each await), as an attribute of a plain field."""

    def __await__(self) -> Any:
        return _never().__await__()


# Values that are not the ordinary case: the general path must decide, with the same errors and paths.
ODD_VALUES: dict[str, dict[str, Any]] = {
    "null in a non-null scalar": {"name": None},
    "null in a non-null enum": {"colour": None},
    "null in a non-null list": {"tags": None},
    "null item in a non-null list": {"tags": ["a", None]},
    "null in a non-null nested object": {"leaf": None},
    "null in a nested object's non-null field": {"leaf": Leaf(code=None, weight=1.0)},  # type: ignore[arg-type]
    "wrong type for an Int": {"count": "many"},
    "wrong type for a date": {"due": "tomorrow"},
    "an Int beyond 32 bits": {"count": 2**31},
    "an infinite Float": {"leaves": [Leaf(code="x", weight=float("inf"))]},
    "a float with a fraction for an Int": {"count": 2.5},
    "wrong value for an enum": {"colour": "green"},
    "an exception as value": {"ratio": ValueError("no ratio")},
    "a string for a list": {"tags": "abc"},
    # graphql-core awaits it, then fails: a string is no datetime
    "an awaitable as value": {"updated_at": _AwaitableAttribute()},
}


@pytest.mark.parametrize("name", list(ODD_VALUES))
async def test_odd_values_give_the_general_paths_errors(name: str) -> None:
    root = holder([part(1), part(2, **ODD_VALUES[name]), part(3)])
    document = f"{{ parts {{ {PART_FIELDS} }} holder {{ part {{ name }} parts {{ {PART_FIELDS} }} }} }}"
    answer = await both(root, document)
    assert answer["errors"], "the odd value must give an error on both executors"


@dataclass
class _Missing:
    name: str


async def test_a_missing_attribute_gives_the_general_paths_error() -> None:
    root = holder([part(1), _Missing(name="no other fields")])  # type: ignore[list-item]
    answer = await both(root, "{ parts { name count } }")
    assert answer["errors"]


class _CountingExecutor(FastExecutor):
    """Counts the fields the general path executes."""

    general_fields: ClassVar[list[str]] = []

    def execute_field(self, parent_type: Any, source: Any, field_details_list: Any, *args: Any) -> Any:
        _CountingExecutor.general_fields.append(f"{parent_type.name}.{field_details_list[0].node.name.value}")
        return super().execute_field(parent_type, source, field_details_list, *args)


async def test_plain_fields_skip_the_general_path() -> None:
    """The equality tests above compare something: plain fields really take the fast path."""
    schema = strawberry.Schema(
        query=make_query(holder([part(1), part(2)])), execution_context_class=_CountingExecutor
    )
    _CountingExecutor.general_fields = []
    document = f"{{ parts {{ {PART_FIELDS} }} holder {{ title secret part {{ name }} }} }}"
    result = await schema.execute(document)
    assert result.data is not None
    # the resolvers and the guarded field only; every Part, Leaf and Holder.title/part field was plain
    assert _CountingExecutor.general_fields == ["Query.parts", "Query.holder", "Holder.secret"]


@pytest.mark.parametrize("loaded", [True, False])
async def test_preloaded_fields_read_the_attribute_or_run_the_resolver(loaded: bool) -> None:
    """A field marked ``@preloaded`` is read directly when its attribute is set (no resolver call on the
    general path), and resolved by its resolver when it is None; the answers equal the general path's."""
    parts = [part(n) for n in range(1, 5)]
    root = holder(parts, loaded=parts[1:3] if loaded else None)
    document = f"{{ holder {{ title preloadedParts {{ {PART_FIELDS} }} }} }}"
    answer = await both(root, document)
    assert answer["errors"] == []
    schema = strawberry.Schema(query=make_query(root), execution_context_class=_CountingExecutor)
    _CountingExecutor.general_fields = []
    result = await schema.execute(document)
    assert result.data is not None
    expected = ["Query.holder"] + ([] if loaded else ["Holder.preloadedParts"])
    assert _CountingExecutor.general_fields == expected


async def test_a_preloaded_field_with_a_permission_class_stays_on_the_general_path() -> None:
    parts = [part(n) for n in range(1, 3)]
    root = holder(parts, loaded=parts)
    Never.calls = 0
    answer = await both(root, "{ holder { title guardedParts { name } } }")
    assert Never.calls == 2  # once per executor: the fast one did not skip the check
    assert [e["message"] for e in answer["errors"]] == ["Not for you."]


async def test_plans_are_shared_across_requests_only_for_operations_without_variables() -> None:
    """The same document text (the same parsed nodes, from the document cache) on the same schema reuses
    the plans of earlier requests, whatever the values: odd values still give the general path's errors.
    An operation with variables plans per request (its @skip/@include may change)."""
    cell: list[list[Part]] = []

    @strawberry.type(description="Root.")
    class Query:
        @strawberry.field(description="Parts.")
        def parts(self) -> list[Part]:
            return cell[0]

    cache = DocumentCache()
    fast = strawberry.Schema(
        query=Query,
        execution_context_class=FastExecutor,
        extensions=[lambda: TokenLimiter(max_token_count=10_000, cache=cache)],
    )
    general = strawberry.Schema(query=Query)
    document = f"{{ parts {{ {PART_FIELDS} __typename leaf @skip(if: true) {{ code }} }} }}"
    rounds = [
        [part(1), part(2)],
        [part(3), part(4, name=None)],  # a null in a non-null field: the general path's error
        [part(5, count=2**31)],
        [part(6)],
    ]
    before = len(fast_executor._SHARED_PLANS)
    for parts in rounds:
        cell[:] = [parts]
        assert shape(await fast.execute(document)) == shape(await general.execute(document))
    assert len(fast_executor._SHARED_PLANS) == before + 1
    with_variables = "query Q($skip: Boolean!) { parts { name leaf @skip(if: $skip) { code } } }"
    for skip in (True, False, True):
        cell[:] = [[part(1), part(2)]]
        variables = {"skip": skip}
        fast_answer = await fast.execute(with_variables, variable_values=variables)
        assert shape(fast_answer) == shape(await general.execute(with_variables, variable_values=variables))
    assert len(fast_executor._SHARED_PLANS) == before + 1


# Values of another type than the field's, that the built-in scalars coerce: the same coerced values.
COERCED_VALUES: dict[str, dict[str, Any]] = {
    "an int for a Float": {"ratio": 2, "leaves": [Leaf(code="x", weight=3)]},
    "a bool for an Int": {"count": True},
    "a whole float for an Int": {"count": 4.0},
    "an int for a String and an ID": {"name": 12, "id": 7},
    "a bool for a String": {"name": False},
    "an int for a Boolean": {"active": 0},
    "a str subclass": {"name": type("Text", (str,), {})("sub")},
    "a decimal for an Int": {"count": decimal.Decimal("3")},
}


@pytest.mark.parametrize("name", list(COERCED_VALUES))
async def test_coerced_values_equal_the_general_paths(name: str) -> None:
    root = holder([part(1), part(2, **COERCED_VALUES[name])])
    answer = await both(root, f"{{ parts {{ {PART_FIELDS} }} }}")
    assert answer["data"] != "null"


# --- the project's schema ------------------------------------------------------------------------------

MIXED_DOCUMENT = """
query Mixed($skip: Boolean!) {
  factories(first: 10) {
    edges { cursor node { __typename ...F id @skip(if: $skip) ja: nameJa
      capabilities { p: process { code __typename } materials minLot leadDays rate: hourlyRateJpy }
      certifications { ... on FactoryCertification { code validUntil isValid } } } }
  }
}
fragment F on Factory { nameEn city approvalStatus isMine }
"""


@pytest.fixture
def clock() -> clocks.Clock:
    return clocks.FixedClock(NOW)


async def test_the_project_answers_the_same_with_either_executor_for_every_caller(
    pool: db.Pool, settings: Settings, clock: clocks.Clock
) -> None:
    """Every hot document of the snapshot test, and one with aliases, fragments, @skip and __typename,
    for every caller class: the same response text (key order included) from both executors."""
    await seed_demo(pool, today=clocks.today(clock))
    callers = await _callers(pool)
    documents: list[tuple[str, dict[str, Any] | None]] = [(d, None) for d in SNAPSHOT_DOCUMENTS.values()]
    documents += [(MIXED_DOCUMENT, {"skip": True}), (MIXED_DOCUMENT, {"skip": False})]
    texts: dict[bool, list[str]] = {}
    for fast in (True, False):
        app = create_app(replace(settings, fast_executor=fast), pool=pool, clock=clock)
        transport = httpx.ASGITransport(app=app)
        answers: list[str] = []
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            for token in callers.values():
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                for document, variables in documents:
                    body = {"query": document, "variables": variables or {}}
                    response = await http.post("/graphql", json=body, headers=headers)
                    answers.append(response.text)
        texts[fast] = answers
    assert len(texts[True]) == len(callers) * len(documents)
    for fast_answer, general_answer in zip(texts[True], texts[False], strict=True):
        assert fast_answer == general_answer
    coordinator_mixed = texts[True][len(documents) - 2 : len(documents)]  # the coordinator is first
    assert all('"errors"' not in answer and '"edges"' in answer for answer in coordinator_mixed)
