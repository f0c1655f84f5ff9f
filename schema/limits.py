"""Cost limits of the GraphQL layer: tokens, aliases, root fields, query cost, and validation without hints.

Each limit refuses a request before the expensive step it guards, with a coded error from :mod:`server.errors`
(``QUERY_TOO_LARGE``, ``TOO_MANY_ALIASES``, ``TOO_MANY_ROOT_FIELDS``, ``QUERY_TOO_COSTLY``):

- the token limit is graphql-core's own ``max_tokens`` parse option (strawberry's :class:`MaxTokensLimiter`):
  the lexer stops at the limit, so a 1 MB document of ``__typename`` or directives is never parsed whole;
- aliases and root fields are counted on the parsed document *before* the specification's validation rules
  run, because some of those (overlapping fields) grow quadratically with the number of fields;
- the cost is estimated with the request's variables just before execution (:class:`QueryCostLimiter`), so
  ``first: $n`` counts as what the client asked for.

Parsing and validation depend only on the document's text (the schema and rules are fixed per process), so
a :class:`DocumentCache` keeps the parsed and validated documents of the texts seen most recently: a client
repeating a query pays for neither again. Only documents that passed are kept; a refused one is checked anew
each time, and its errors are never shared between requests (they are translated in place).

docs/security.md describes the limits and their settings.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInt,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
    validate,
)
from graphql.execution import ExecutionResult as GraphQLExecutionResult
from graphql.language import Node
from graphql.validation import ASTValidationRule
from graphql.validation.rules import overlapping_fields_can_be_merged
from graphql.validation.validate import ValidationAbortedError
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, SchemaExtension
from strawberry.extensions.max_aliases import count_fields_with_alias
from strawberry.extensions.query_depth_limiter import create_validator
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from server.errors import (
    LimitExceeded,
    QueryTooComplex,
    QueryTooCostly,
    QueryTooDeep,
    QueryTooLarge,
    TooManyAliases,
    TooManyRootFields,
)
from server.pagination import DEFAULT_PAGE_SIZE

# How many rows one unit of a size argument stands for. `weeks` returns one row per capability and week.
ROWS_PER_UNIT = {"first": 1, "last": 1, "weeks": 10}
# A list without a size argument (capabilities, lines, operations …) is assumed to hold this many items.
LIST_SIZE_ESTIMATE = 10

# Work budget of graphql-core's check that fields merge (quadratic in repeated fields; validation aborts
# when it is spent). Its default, 500 000, lets 2000 tokens of one repeated field cost ~100 ms; 20 000 is
# ~20 ms and still far above any real query (the introspection query spends almost nothing). graphql-core
# documents assigning this module attribute as the way to set it; it is read when each validation starts.
VALIDATION_BUDGET = 20_000
overlapping_fields_can_be_merged.MAX_COMPLEXITY_BUDGET = VALIDATION_BUDGET

# graphql-core's message when the lexer stops at ``max_tokens`` (graphql/language/parser.py).
_TOKEN_LIMIT_MESSAGE = "Document contains more than"


def limit_error(refusal: LimitExceeded, nodes: Node | list[Node] | None = None) -> GraphQLError:
    """A GraphQL error carrying ``refusal``: :func:`schema.errors.translate_errors` gives it its code."""
    return GraphQLError(refusal.message, nodes, original_error=refusal, extensions=refusal.extensions())


# --- the document cache -------------------------------------------------------------------------------


class DocumentCache:
    """The most recently used documents by text: parsed, and whether they passed validation.

    Bounded (least recently used first out), so unique texts cannot grow memory; one per schema, shared by
    every request's extensions.
    """

    def __init__(self, maxsize: int = 256) -> None:
        self.maxsize = maxsize
        self._parsed: OrderedDict[str, DocumentNode] = OrderedDict()
        self._valid: set[str] = set()
        # Cost of an operation that uses no variables, by (text, operation name).
        self._costs: dict[tuple[str, str | None], int] = {}

    def parsed(self, text: str) -> DocumentNode | None:
        document = self._parsed.get(text)
        if document is not None:
            self._parsed.move_to_end(text)
        return document

    def keep(self, text: str, document: DocumentNode) -> None:
        self._parsed[text] = document
        self._parsed.move_to_end(text)
        while len(self._parsed) > self.maxsize:
            old, _ = self._parsed.popitem(last=False)
            self._valid.discard(old)
            for key in [k for k in self._costs if k[0] == old]:
                del self._costs[key]

    def is_valid(self, text: str, document: DocumentNode) -> bool:
        """``document`` is the cached one for ``text`` and passed validation."""
        return text in self._valid and self._parsed.get(text) is document

    def mark_valid(self, text: str, document: DocumentNode) -> None:
        if self._parsed.get(text) is document:
            self._valid.add(text)

    def cost(self, text: str, operation_name: str | None) -> int | None:
        return self._costs.get((text, operation_name))

    def keep_cost(self, text: str, operation_name: str | None, cost: int) -> None:
        if text in self._parsed:
            self._costs[(text, operation_name)] = cost


# --- tokens -------------------------------------------------------------------------------------------


class TokenLimiter(MaxTokensLimiter):
    """Strawberry's token limit, with the refusal coded ``QUERY_TOO_LARGE`` (graphql-core raises a bare
    syntax error). A text in ``cache`` is not parsed again; one parsed here without error goes in."""

    def __init__(self, max_token_count: int, cache: DocumentCache | None = None) -> None:
        super().__init__(max_token_count=max_token_count)
        self.cache = cache

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        text = context.query
        if self.cache is not None and text and context.graphql_document is None:
            # Strawberry parses only when no extension has set the document.
            context.graphql_document = self.cache.parsed(text)
        yield
        if (
            self.cache is not None
            and text
            and context.graphql_document is not None
            and not context.pre_execution_errors
        ):
            self.cache.keep(text, context.graphql_document)
        # Changed in place: strawberry has already put this error object into the result.
        for error in self.execution_context.pre_execution_errors or []:
            if error.message.startswith(f"Syntax Error: {_TOKEN_LIMIT_MESSAGE}"):
                refusal = QueryTooLarge(
                    limit=self.max_token_count,
                    message=f"The query document has more than {self.max_token_count} tokens.",
                )
                error.message = refusal.message
                error.extensions = refusal.extensions()
                error.original_error = refusal


class DepthLimiter(AddValidationRules):
    """Strawberry's depth limit, with the refusal coded ``QUERY_TOO_DEEP`` (its validation rule reports a bare
    error). strawberry's ``QueryDepthLimiter`` builds its rule (a class) on every request; the rule keeps no
    state between validations, so one built per schema (:func:`depth_rule`) serves them all."""

    def __init__(self, *, max_depth: int, rule: type[ASTValidationRule]) -> None:
        super().__init__([rule])
        self.max_depth = max_depth

    def on_validate(self) -> Iterator[None]:
        yield
        for error in self.execution_context.pre_execution_errors or []:
            if error.original_error is None and error.message.endswith(
                f"exceeds maximum operation depth of {self.max_depth}"
            ):
                refusal = QueryTooDeep(
                    limit=self.max_depth,
                    message=f"The operation nests fields deeper than {self.max_depth} levels.",
                )
                error.message = refusal.message
                error.extensions = refusal.extensions()
                error.original_error = refusal


def depth_rule(max_depth: int) -> type[ASTValidationRule]:
    """The validation rule of :class:`DepthLimiter`, built once."""
    return create_validator(max_depth, None, None)


# --- aliases and root fields --------------------------------------------------------------------------


def count_root_fields(
    operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> int:
    """Fields selected at the top of ``operation``, through fragments too."""

    def count(selection_set: SelectionSetNode, seen: frozenset[str]) -> int:
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += 1
            elif isinstance(selection, InlineFragmentNode):
                total += count(selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in fragments and name not in seen:  # a cycle is the validation's to report
                    total += count(fragments[name].selection_set, seen | {name})
        return total

    return count(operation.selection_set, frozenset())


def shape_errors(document: DocumentNode, *, max_aliases: int, max_root_fields: int) -> list[GraphQLError]:
    """Refusals for too many aliases or root fields; cheap, so they run before the specification's rules."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    errors: list[GraphQLError] = []
    aliases = sum(count_fields_with_alias(op, fragments) for op in operations)
    if aliases > max_aliases:
        aliases_refusal = TooManyAliases(
            limit=max_aliases,
            actual=aliases,
            message=f"The document uses {aliases} aliases; at most {max_aliases} are allowed.",
        )
        errors.append(limit_error(aliases_refusal))
    for op in operations:
        roots = count_root_fields(op, fragments)
        if roots > max_root_fields:
            refusal = TooManyRootFields(
                limit=max_root_fields,
                actual=roots,
                message=f"The operation selects {roots} top-level fields; at most {max_root_fields} are "
                "allowed.",
            )
            errors.append(limit_error(refusal, op))
    return errors


class ValidationWithLimits(SchemaExtension):
    """Validation in two steps: the shape limits first (cheap), then the specification's rules.

    Strawberry skips its own validation when an extension has set ``pre_execution_errors``; doing it here
    also lets prod hide graphql-core's "Did you mean …?" hints, which reveal field names that introspection
    would not.
    """

    def __init__(
        self,
        *,
        max_aliases: int,
        max_root_fields: int,
        hide_suggestions: bool,
        cache: DocumentCache | None = None,
    ) -> None:
        self.max_aliases = max_aliases
        self.max_root_fields = max_root_fields
        self.hide_suggestions = hide_suggestions
        self.cache = cache

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        text = context.query
        if (
            self.cache is not None
            and text
            and document is not None
            and context.pre_execution_errors is None
            and self.cache.is_valid(text, document)
        ):
            context.pre_execution_errors = []  # the same text passed before: every rule holds again
        elif document is not None and context.pre_execution_errors is None:
            errors = shape_errors(
                document, max_aliases=self.max_aliases, max_root_fields=self.max_root_fields
            )
            if not errors:
                # The same rules strawberry would add (schema/schema.py validate_document).
                rules = (*context.validation_rules, MaybeNullValidationRule, OneOfInputValidationRule)
                errors = validate(
                    context.schema._schema, document, rules, hide_suggestions=self.hide_suggestions
                )
                errors = [_coded_abort(e) if isinstance(e, ValidationAbortedError) else e for e in errors]
            context.pre_execution_errors = errors
            if not errors and self.cache is not None and text:
                self.cache.mark_valid(text, document)
        yield


def _coded_abort(error: GraphQLError) -> GraphQLError:
    """graphql-core's bare "Validation aborted." (the work budget was spent), as a coded refusal."""
    refusal = QueryTooComplex(
        limit=VALIDATION_BUDGET,
        message="The document repeats fields or fragments so often that checking it was stopped; select "
        "each field once.",
    )
    return limit_error(refusal, list(error.nodes or []))


# --- cost ---------------------------------------------------------------------------------------------


def query_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any],
) -> int:
    """Estimated work of ``operation``: each field costs 1 plus its list size times the cost of its selection.

    The list size is the value of a size argument (``first``, ``last``: rows; ``weeks``: weeks times
    :data:`ROWS_PER_UNIT`), its default, or :data:`LIST_SIZE_ESTIMATE` for a list without one. A connection's
    ``edges`` count once, as its ``first`` already multiplies them.
    """
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    defaults = {
        d.variable.name.value: int(d.default_value.value)
        for d in operation.variable_definitions or ()
        if isinstance(d.default_value, IntValueNode)
    }
    # A fragment's cost does not depend on where it is spread: computing it once keeps fragments that
    # spread each other many times from costing this function exponential time.
    fragment_costs: dict[str, int] = {}

    def argument(node: FieldNode, name: str, field: GraphQLField) -> int | None:
        """The size asked for; None for null or a wrong type (counted as the default; coercion refuses it)."""
        for arg in node.arguments or ():
            if arg.name.value != name:
                continue
            value: Any
            if isinstance(arg.value, IntValueNode):
                value = int(arg.value.value)
            elif isinstance(arg.value, VariableNode):
                var = arg.value.name.value
                value = variables[var] if var in variables else defaults.get(var)
            else:
                value = None  # null or a wrong type: the field's own check refuses it
            return value if isinstance(value, int) and not isinstance(value, bool) else None
        default = field.args[name].default_value
        return default if isinstance(default, int) else None

    def multiplier(node: FieldNode, field: GraphQLField) -> int:
        for name, rows in ROWS_PER_UNIT.items():
            # Only an Int argument is a size (capacitySet's `weeks` is the list of weeks to write).
            if name in field.args and get_named_type(field.args[name].type) is GraphQLInt:
                size = argument(node, name, field)
                return max(DEFAULT_PAGE_SIZE if size is None else size, 1) * rows
        if is_list_type(get_nullable_type(field.type)) and node.name.value != "edges":
            return LIST_SIZE_ESTIMATE
        return 1

    def cost(selection_set: SelectionSetNode, parent: GraphQLNamedType | None) -> int:
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                fields = parent.fields if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType) else {}
                field = fields.get(selection.name.value)
                if field is None or selection.selection_set is None or selection.name.value.startswith("__"):
                    # A leaf; or introspection, answered from memory and bounded by the schema's size; or
                    # an unknown field, which validation has refused already.
                    total += 1
                    continue
                child = cost(selection.selection_set, get_named_type(field.type))
                total += 1 + multiplier(selection, field) * child
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                total += cost(
                    selection.selection_set, schema.get_type(condition.name.value) if condition else parent
                )
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in fragment_costs:
                    fragment_costs[name] = 0  # guards against cycles (validation refuses them)
                    fragment = fragments.get(name)
                    if fragment is not None:
                        on = schema.get_type(fragment.type_condition.name.value)
                        fragment_costs[name] = cost(fragment.selection_set, on)
                total += fragment_costs[name]
        return total

    root = schema.get_root_type(operation.operation)
    return cost(operation.selection_set, root)


class QueryCostLimiter(SchemaExtension):
    """Refuses an operation whose :func:`query_cost` is over ``max_cost``, before it runs.

    It runs after validation, with the request's variables; strawberry skips execution when an extension
    has set the result.
    """

    def __init__(self, *, max_cost: int, cache: DocumentCache | None = None) -> None:
        self.max_cost = max_cost
        self.cache = cache

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        operation = select_operation(document, context.operation_name) if document is not None else None
        if document is not None and operation is not None:
            cost = self._cost(document, operation)
            if cost > self.max_cost:
                refusal = QueryTooCostly(
                    limit=self.max_cost,
                    actual=cost,
                    message=f"This operation would cost {cost}; the limit is {self.max_cost}. Ask for "
                    "smaller pages (`first`, `weeks`) or fewer fields.",
                )
                context.result = GraphQLExecutionResult(data=None, errors=[limit_error(refusal, operation)])
        yield

    def _cost(self, document: DocumentNode, operation: OperationDefinitionNode) -> int:
        context = self.execution_context
        return operation_cost(
            context.schema._schema,
            document,
            operation,
            text=context.query,
            operation_name=context.operation_name,
            variables=context.variables or {},
            cache=self.cache,
        )


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    *,
    text: str | None,
    operation_name: str | None,
    variables: Mapping[str, Any],
    cache: DocumentCache | None,
) -> int:
    """:func:`query_cost`, kept in ``cache`` for an operation without variables (its cost depends on the
    text alone)."""
    cached = cache.cost(text, operation_name) if cache and text and not variables else None
    if cached is not None:
        return cached
    cost = query_cost(schema, document, operation, variables)
    if cache and text and not variables:
        cache.keep_cost(text, operation_name, cost)
    return cost


def select_operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    """The operation of ``document`` that a request naming ``name`` runs (graphql-core's rule), if any."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((op for op in operations if op.name and op.name.value == name), None)


def limit_extensions(
    *,
    max_tokens: int,
    max_aliases: int,
    max_root_fields: int,
    max_cost: int,
    hide_suggestions: bool,
    cache: DocumentCache | None = None,
) -> list[Callable[[], SchemaExtension]]:
    """The limit extensions as factories: strawberry builds fresh extensions for each request; ``cache``
    (one per schema) is shared by all of them."""
    return [
        lambda: TokenLimiter(max_token_count=max_tokens, cache=cache),
        lambda: ValidationWithLimits(
            max_aliases=max_aliases,
            max_root_fields=max_root_fields,
            hide_suggestions=hide_suggestions,
            cache=cache,
        ),
        lambda: QueryCostLimiter(max_cost=max_cost, cache=cache),
    ]


__all__ = [
    "DepthLimiter",
    "DocumentCache",
    "QueryCostLimiter",
    "TokenLimiter",
    "ValidationWithLimits",
    "depth_rule",
    "limit_extensions",
    "operation_cost",
    "query_cost",
    "select_operation",
]
