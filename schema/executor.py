"""A graphql-core executor that completes *plain* fields in a tight loop (issue 11).

graphql-core completes every field of every object the same way: a ``GraphQLResolveInfo`` and a ``Path``
per field, strawberry's resolver wrapper, then ``complete_value`` walking the field's type. For a field that
only reads an attribute, most of that is wasted; a page of 50 factories has some 2,600 of them.

A field is **plain** when strawberry would resolve it with its basic resolver and nothing else runs for it:
a :class:`~strawberry.types.field.StrawberryField` with no resolver, no arguments and no field extensions
(permission classes are a field extension), whose ``get_result`` is strawberry's own, read with the
schema's default resolver (``getattr``), whose field nodes carry no directive but ``@skip``/``@include``
(already applied when the fields were collected), and no schema extension wraps resolvers (middleware).
``__typename`` is plain too. Its type is a scalar or enum, a plain object type (no ``is_type_of``: no
interface) whose selected fields are all plain, or a list of these.

Such a field is completed by :meth:`FastExecutor.execute_fields` directly: ``getattr``, the type's own
``coerce_output_value`` for scalars and enums, a dict per object, a list per list. Whenever the value is
not the ordinary case, i.e. a null in a non-null position, an exception or awaitable as value, a
coercion that fails or returns null, anything but a list for a list, a missing attribute, the fast path gives
up on that field and graphql-core's general path completes it from scratch (reading an attribute has no
effect), so errors, their messages and paths, and null propagation are exactly the general path's.
A list of plain objects returned by a non-plain field (a resolver) is completed the same way.

A field is **preloaded** when its resolver is marked with :func:`preloaded`: the resolver returns the
source's attribute named there, unchanged, whenever that attribute is not None (a page's resolver sets it
for all its items at once, see ``schema/factories/types.with_details``). Such a field, with no arguments,
field extensions or permission classes and no exception handler, counts as plain: its attribute is read and
completed directly, and when it is None the general path runs the resolver. So a page whose nested lists
were loaded is completed here from its connection down, without a resolver call per item.

Whether a field is plain is decided once per (type, field) for the schema; the plan of a selection is
built once per collected field set (graphql-core memoises those per request).
"""

from __future__ import annotations

import keyword
import operator
import types
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterable, Callable, Iterable
from math import isfinite
from typing import Any, TypeVar

from graphql import (
    GRAPHQL_MAX_INT,
    GRAPHQL_MIN_INT,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLFloat,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLString,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import AwaitableOrValue, Path, Undefined, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

# The attribute a resolver marked by :func:`preloaded` returns when it is not None.
_PRELOADED = "__machikoba_preloaded__"

F = TypeVar("F", bound=Callable[..., Any])


def preloaded(attribute: str) -> Callable[[F], F]:
    """Mark a resolver (below ``@strawberry.field``) that returns ``self.<attribute>`` unchanged whenever
    it is not None, and does nothing else in that case: :class:`FastExecutor` then reads the attribute."""

    def mark(resolver: F) -> F:
        setattr(resolver, _PRELOADED, attribute)
        return resolver

    return mark


# Directives that graphql-core has already applied when it collected the fields.
_COLLECTION_DIRECTIVES = frozenset({"skip", "include"})

_BACKREF = GraphQLCoreConverter.DEFINITION_BACKREF


class _Fallback(Exception):
    """The value is not the ordinary case: the general path completes the field."""


# A completer turns a field's raw value into its response value, or raises _Fallback.
Completer = Callable[[Any], Any]

# Per Python type: may its values be completed here? Not exceptions (graphql-core raises them), not
# awaitables (it awaits them), not generators.
_ordinary_types: dict[type, bool] = {}


def _is_ordinary(cls: type) -> bool:
    known = _ordinary_types.get(cls)
    if known is None:
        known = not (
            issubclass(cls, BaseException)
            or hasattr(cls, "__await__")
            or hasattr(cls, "__aiter__")
            or issubclass(cls, types.GeneratorType | types.CoroutineType | types.AsyncGeneratorType)
        )
        _ordinary_types[cls] = known
    return known


# graphql-core's built-in scalars return a value of exactly these types unchanged (serialize_string,
# serialize_id, serialize_boolean; serialize_int for a 32-bit int, serialize_float for a finite float):
# no call needed for the common case.
_UNCHANGED: dict[str, type] = {"String": str, "ID": str, "Boolean": bool}
_BUILT_IN = {t.name: t for t in (GraphQLString, GraphQLID, GraphQLBoolean, GraphQLInt, GraphQLFloat)}

# The built-in leaf completers below, by kind, with the general completer they call for any other value:
# an object's completer inlines their test (:func:`_object_completer`). Weak keys: completers live as long
# as the plans that hold them.
_INLINE: weakref.WeakKeyDictionary[Completer, tuple[str, Completer]] = weakref.WeakKeyDictionary()
# The test each kind inlines, on a value ``x``: when it holds, ``x`` is its own response value; otherwise
# the general completer decides (exactly the leaf completers' own tests).
_INLINE_TEST = {
    "str": "type({x}) is str",
    "bool": "type({x}) is bool",
    "int": "type({x}) is int and MIN_INT <= {x} <= MAX_INT",
    "float": "type({x}) is float and isfinite({x})",
}


def _leaf_completer(leaf: GraphQLScalarType | GraphQLEnumType, non_null: bool) -> Completer:
    general = _general_leaf_completer(leaf, non_null)
    if _BUILT_IN.get(leaf.name) is not leaf:
        return general
    if leaf is GraphQLInt:

        def complete_int(value: Any) -> Any:
            if type(value) is int and GRAPHQL_MIN_INT <= value <= GRAPHQL_MAX_INT:
                return value
            return general(value)

        _INLINE[complete_int] = ("int", general)
        return complete_int
    if leaf is GraphQLFloat:

        def complete_float(value: Any) -> Any:
            if type(value) is float and isfinite(value):
                return value
            return general(value)

        _INLINE[complete_float] = ("float", general)
        return complete_float
    unchanged = _UNCHANGED[leaf.name]

    def complete(value: Any) -> Any:
        if type(value) is unchanged:
            return value
        return general(value)

    _INLINE[complete] = ("str" if unchanged is str else "bool", general)
    return complete


def _general_leaf_completer(leaf: GraphQLScalarType | GraphQLEnumType, non_null: bool) -> Completer:
    coerce = leaf.coerce_output_value
    ordinary = _ordinary_types

    def complete(value: Any) -> Any:
        if value is None:
            if non_null:
                raise _Fallback
            return None
        if not (ordinary.get(type(value)) or _is_ordinary(type(value))):
            raise _Fallback
        try:
            coerced = coerce(value)
        except Exception:
            raise _Fallback from None
        if coerced is None or coerced is Undefined:
            raise _Fallback
        return coerced

    return complete


# An object's field: response name, completer, reader, and the attribute the reader reads (None for
# ``__typename``, whose reader returns the type's name).
ObjectEntry = tuple[str, Completer, Callable[[Any], Any], str | None]


def _object_completer(entries: list[ObjectEntry], non_null: bool) -> Completer:
    """The completer of a plain object: one function compiled for the selection, which reads each attribute
    and, for built-in scalars, tests the ordinary case inline (the leaf completer's own test) before it
    calls anything; it builds the response dict in one literal. Same results as calling each field's
    reader and completer in order."""
    names: dict[str, Any] = {
        "Fallback": _Fallback,
        "ordinary": _ordinary_types,
        "is_ordinary": _is_ordinary,
        "MIN_INT": GRAPHQL_MIN_INT,
        "MAX_INT": GRAPHQL_MAX_INT,
        "isfinite": isfinite,
        "non_null": non_null,
    }
    body = [
        "def complete(value):",
        "    if value is None:",
        "        if non_null:",
        "            raise Fallback",
        "        return None",
        "    if not (ordinary.get(type(value)) or is_ordinary(type(value))):",
        "        raise Fallback",
    ]
    items: list[str] = []
    for n, (response_name, complete_field, read, attribute) in enumerate(entries):
        x = f"x{n}"
        if attribute is None:
            names[f"typename{n}"] = read(None)
            items.append(f"{response_name!r}: typename{n}")
            continue
        if attribute.isidentifier() and not keyword.iskeyword(attribute):
            body.append(f"    {x} = value.{attribute}")
        else:
            names[f"attribute{n}"] = attribute
            body.append(f"    {x} = getattr(value, attribute{n})")
        inline = _INLINE.get(complete_field)
        if inline is not None:
            kind, general = inline
            names[f"general{n}"] = general
            body.append(f"    if not ({_INLINE_TEST[kind].format(x=x)}):")
            body.append(f"        {x} = general{n}({x})")
        else:
            names[f"complete{n}"] = complete_field
            body.append(f"    {x} = complete{n}({x})")
        items.append(f"{response_name!r}: {x}")
    body.append("    return {" + ", ".join(items) + "}")
    text = "\n".join(body)
    code = _compiled.get(text)
    if code is None:
        if len(_compiled) >= _MAX_COMPILED:
            _compiled.clear()
        # Our own text: response names are GraphQL names, attributes identifiers (else read by getattr).
        module = compile(text, "<schema.executor object completer>", "exec")
        code = _compiled[text] = next(c for c in module.co_consts if isinstance(c, types.CodeType))
    complete: Completer = types.FunctionType(code, names)
    return complete


# Plans of operations without variables, kept across requests: their collected fields depend only on the
# document (``@skip``/``@include`` take literals), and the document cache (schema/limits.DocumentCache)
# hands each request of the same text the same nodes. Keyed by (schema, operation) identity and by the
# identity of the field nodes; each entry holds its operation, schema and fragments, so that no id it uses
# can be reused by another object while it lives. Least recently used operations go first.
_SHARED_PLANS: OrderedDict[tuple[int, int], tuple[Any, Any, Any, dict[Any, Any]]] = OrderedDict()
_MAX_SHARED_OPERATIONS = 256


# The compiled completers by their text: plans are built per request, the text depends only on the
# selection, so each selection is compiled once per process.
_compiled: dict[str, types.CodeType] = {}
_MAX_COMPILED = 1024


def _list_completer(item: Completer, non_null: bool) -> Completer:
    def complete(value: Any) -> Any:
        if value is None:
            if non_null:
                raise _Fallback
            return None
        if type(value) is not list and type(value) is not tuple:
            raise _Fallback
        return [item(v) for v in value]

    return complete


def _preloaded_completer(inner: Completer) -> Completer:
    """A preloaded field's value: None means "not loaded", and the general path runs its resolver."""

    def complete(value: Any) -> Any:
        if value is None:
            raise _Fallback
        return inner(value)

    return complete


def _typename_reader(name: str) -> Callable[[Any], Any]:
    return lambda _source: name


def _identity(value: Any) -> Any:
    return value


def _plain_python_name(field: GraphQLField, schema: Any) -> tuple[str, bool] | None:
    """The attribute a plain field reads, and whether it is preloaded (a None means "not loaded"); None
    when the field is neither plain nor preloaded (see the module's text)."""
    resolve = field.resolve
    if resolve is None or field.args:
        return None
    definition = (field.extensions or {}).get(_BACKREF)
    if not isinstance(definition, StrawberryField):
        return None
    if (
        definition.arguments
        or definition.extensions
        or definition.permission_classes
        or type(definition).get_result is not StrawberryField.get_result
    ):
        return None
    if getattr(resolve, "_is_default", False):
        if not definition.is_basic_field or definition.default_resolver is not getattr:
            return None
        return definition.python_name, False
    resolver = definition.base_resolver
    attribute = getattr(resolver.wrapped_func, _PRELOADED, None) if resolver is not None else None
    if not isinstance(attribute, str):
        return None
    # An exception handler of the schema's (strawberry's error unions) would wrap the resolver's result.
    converter = getattr(getattr(schema, "_strawberry_schema", None), "schema_converter", None)
    if converter is None or converter._get_field_exception_handlers(definition):
        return None
    return attribute, True


def _nodes_plain(field_details_list: FieldDetailsList) -> bool:
    for details in field_details_list:
        node = details.node
        if node.arguments:
            return False
        if node.directives and any(d.name.value not in _COLLECTION_DIRECTIVES for d in node.directives):
            return False
    return True


# Plan of one collected field set: per response name, its field details and, for a plain field, how to
# read it from the source and complete it (None otherwise); and whether every field is plain.
PlanEntry = tuple[str, FieldDetailsList, Completer | None, Callable[[Any], Any] | None, str | None]
Plan = tuple[list[PlanEntry], bool]


class FastExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor with plain fields completed directly (module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        # A schema extension with a ``resolve`` hook sees every field: then nothing is plain.
        self._fast = manager is None or not manager.middlewares
        # Keyed by the identity of graphql-core's memoised field sets / field lists, kept alive with them.
        self._plans: dict[tuple[int, str], tuple[GroupedFieldSet, Plan]] = {}
        self._list_items: dict[tuple[int, int], tuple[FieldDetailsList, Completer | None]] = {}
        self._plain_fields: dict[tuple[str, str], tuple[str, bool] | None] = {}
        self._shared = self._shared_plans() if self._fast else None

    def _shared_plans(self) -> dict[Any, Any] | None:
        """The plans of this operation kept across requests (see :data:`_SHARED_PLANS`), or None when its
        fields may depend on the request's variables (``@skip(if: $x)``): then plans are per request."""
        operation = self.operation
        if operation.variable_definitions:
            return None
        key = (id(self.schema), id(operation))
        entry = _SHARED_PLANS.get(key)
        if entry is None or entry[0] is not operation or entry[1] is not self.schema:
            if len(_SHARED_PLANS) >= _MAX_SHARED_OPERATIONS:
                _SHARED_PLANS.popitem(last=False)
            entry = _SHARED_PLANS[key] = (operation, self.schema, self.fragments, {})
        else:
            _SHARED_PLANS.move_to_end(key)
        return entry[3]

    # -- plans ---------------------------------------------------------------------------------------

    def _python_name(
        self, parent_type: GraphQLObjectType, field: GraphQLField, name: str
    ) -> tuple[str, bool] | None:
        key = (parent_type.name, name)
        try:
            return self._plain_fields[key]
        except KeyError:
            python_name = _plain_python_name(field, self.schema)
            self._plain_fields[key] = python_name
            return python_name

    def _plan(self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet) -> Plan:
        key = (id(grouped_field_set), parent_type.name)
        cached = self._plans.get(key)
        if cached is not None:
            return cached[1]
        entries: list[PlanEntry] = []
        all_plain = True
        for response_name, field_details_list in grouped_field_set.items():
            read, complete, attribute = self._plain_field(parent_type, field_details_list)
            if complete is None:
                all_plain = False
            entries.append((response_name, field_details_list, complete, read, attribute))
        plan: Plan = (entries, all_plain)
        self._plans[key] = (grouped_field_set, plan)
        return plan

    def _plain_field(
        self, parent_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> tuple[Callable[[Any], Any] | None, Completer | None, str | None]:
        """How to read and complete a plain field, and the attribute it reads (None for ``__typename``);
        (None, None, None) when the field is not plain."""
        shared = self._shared
        if shared is None:
            return self._new_plain_field(parent_type, field_details_list)
        key = ("field", parent_type.name, tuple(id(details.node) for details in field_details_list))
        found = shared.get(key)
        if found is None:
            found = shared[key] = self._new_plain_field(parent_type, field_details_list)
        return found

    def _new_plain_field(
        self, parent_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> tuple[Callable[[Any], Any] | None, Completer | None, str | None]:
        if not _nodes_plain(field_details_list):
            return None, None, None
        name = field_details_list[0].node.name.value
        if name == "__typename":
            return _typename_reader(parent_type.name), _identity, None
        field = parent_type.fields.get(name)
        if field is None:
            return None, None, None
        plain = self._python_name(parent_type, field, name)
        if plain is None:
            return None, None, None
        python_name, is_preloaded = plain
        complete = self._completer(field.type, field_details_list)
        if complete is None:
            return None, None, None
        if is_preloaded:
            complete = _preloaded_completer(complete)
        return operator.attrgetter(python_name), complete, python_name

    def _completer(self, type_: GraphQLOutputType, field_details_list: FieldDetailsList) -> Completer | None:
        non_null = isinstance(type_, GraphQLNonNull)
        inner: Any = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
        if isinstance(inner, GraphQLScalarType | GraphQLEnumType):
            return _leaf_completer(inner, non_null)
        if isinstance(inner, GraphQLList):
            item_type = inner.of_type
            item_inner = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
            if isinstance(item_inner, GraphQLList):
                return None  # lists of lists: the general path
            item = self._completer(item_type, field_details_list)
            return None if item is None else _list_completer(item, non_null)
        if isinstance(inner, GraphQLObjectType):
            if inner.is_type_of is not None:
                return None
            grouped_field_set, new_defer_usages, _forbidden = self.collect_subfields(
                inner, field_details_list
            )
            if new_defer_usages:
                return None
            entries, all_plain = self._plan(inner, grouped_field_set)
            if not all_plain:
                return None
            return _object_completer(
                [
                    (name, complete, read, attribute)
                    for name, _details, complete, read, attribute in entries
                    if complete and read
                ],
                non_null,
            )
        return None  # interfaces and unions: the general path resolves the runtime type

    # -- execution -----------------------------------------------------------------------------------

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        if not self._fast or position_context is not None:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        entries, all_plain = self._plan(parent_type, grouped_field_set)
        if all_plain:
            try:
                return {
                    name: complete(read(source_value))  # type: ignore[misc]
                    for name, _details, complete, read, _attribute in entries
                }
            except Exception:  # any surprise: field by field below, the general path decides
                pass
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for response_name, field_details_list, complete, read, _attribute in entries:
                if complete is not None and read is not None:
                    try:
                        results[response_name] = complete(read(source_value))
                        continue
                    except Exception:  # the general path completes this field
                        pass
                result = self.execute_field(
                    parent_type,
                    source_value,
                    field_details_list,
                    Path(path, response_name, parent_type.name),
                    position_context,
                )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        # The rest is graphql-core's: await the fields that returned awaitables, in parallel.
        return self._await_fields(results, awaitable_fields)

    async def _await_fields(self, results: dict[str, Any], awaitable_fields: list[str]) -> dict[str, Any]:
        if len(awaitable_fields) == 1:
            field = awaitable_fields[0]
            results[field] = await results[field]
        else:
            awaited = await gather_with_cancel(*(results[field] for field in awaitable_fields))
            results.update(zip(awaitable_fields, awaited, strict=True))
        return results

    def complete_list_value(
        self,
        return_type: GraphQLList[GraphQLOutputType],
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: AsyncIterable[Any] | Iterable[Any],
        position_context: Any,
    ) -> AwaitableOrValue[list[Any]]:
        # A resolver's list of plain objects (a page's capabilities): completed here when ordinary.
        if self._fast and position_context is None and (type(result) is list or type(result) is tuple):
            key = (id(field_details_list), id(return_type))
            cached = self._list_items.get(key)
            if cached is None:
                item = self._list_item_completer(return_type, field_details_list)
                self._list_items[key] = (field_details_list, item)
            else:
                item = cached[1]
            if item is not None:
                try:
                    return [item(v) for v in result]
                except Exception:  # the general path completes the list
                    pass
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def _list_item_completer(
        self, return_type: GraphQLList[GraphQLOutputType], field_details_list: FieldDetailsList
    ) -> Completer | None:
        shared = self._shared
        key = ("items", id(return_type), tuple(id(details.node) for details in field_details_list))
        if shared is not None and key in shared:
            return shared[key]  # type: ignore[no-any-return]
        item = (
            self._completer(return_type.of_type, field_details_list)
            if _nodes_plain(field_details_list)
            else None
        )
        if shared is not None:
            shared[key] = item
        return item
