"""Which GraphQL documents the response cache may answer: queries that read the registry and nothing else.

A document qualifies when it holds exactly one operation, a query, and every field it selects (fragments
included) is ``__typename``, one of :data:`ROOT_FIELDS` on ``Query``, or one of :data:`REGISTRY_FIELDS`.
Those read only the tables whose writes move the registry generation (migration 0011), and decide what a
caller sees only by the rules of :mod:`server.factories.rules` (the caller's
:func:`~server.factories.rules.registry_class`) and the day. Anything else — mutations, subscriptions,
``me``, RFQs, bids, proposals, invitations, quotes, partnerships, introspection, a field added later — is
never cached: a field is allowed by name, never by default.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    parse,
    print_ast,
    visit,
)

ROOT_FIELDS = frozenset(
    {"factories", "factory", "clusters", "processes", "materials", "certifications", "prefectures"}
)
"""The ``Query`` fields a cached answer may hold: the registry and the catalogue."""

REGISTRY_FIELDS: dict[str, frozenset[str]] = {
    "FactoryConnection": frozenset({"edges", "pageInfo", "totalCount"}),
    "FactoryEdge": frozenset({"cursor", "node"}),
    "PageInfo": frozenset({"endCursor", "hasNextPage", "hasPreviousPage", "startCursor"}),
    "Factory": frozenset(
        {
            "approvalNote",
            "approvalStatus",
            "capabilities",
            "capacity",
            "certifications",
            "city",
            "cluster",
            "description",
            "employees",
            "foundedYear",
            "id",
            "isMine",
            "nameEn",
            "nameJa",
            "prefecture",
            "updatedAt",
        }
    ),
    "FactoryCertification": frozenset({"code", "isValid", "name", "validUntil"}),
    "Capability": frozenset(
        {
            "bestToleranceUm",
            "hourlyRateJpy",
            "hoursPerWeek",
            "leadDays",
            "materials",
            "maxEnvelopeMm",
            "maxLot",
            "minLot",
            "process",
            "processCode",
            "setupCostJpy",
            "setupHours",
        }
    ),
    "CapacityWeek": frozenset({"hours", "isOverride", "isoWeek", "process", "processCode", "weekStart"}),
    "Cluster": frozenset({"factoryCount", "name"}),
    "Prefecture": frozenset({"code", "nameEn", "nameJa"}),
    "Process": frozenset({"category", "code", "materialFamilies", "nameEn", "nameJa"}),
    "Material": frozenset({"code", "family", "nameEn", "nameJa"}),
    "Certification": frozenset({"code", "name"}),
}
"""The fields a cached answer may hold, by type: each reads only the registry's tables (those whose writes
move the generation) and decides what a caller sees by :mod:`server.factories.rules` and the day only. A
field added to one of these types is not cached until it is added here — after checking both."""


MAX_TEXT = 16_384
"""Longer documents are never cached (nor remembered): registry reads are far shorter, and the plans kept by
text must not hold megabytes."""


@dataclass(frozen=True)
class Plan:
    """What the cache needs of a qualifying document: its text printed from the AST (the same for any
    spacing and comments), the key part shared by every spelling of it."""

    normalized: str


class _RegistryOnly(Visitor):
    """Walks a document beside :class:`TypeInfo`; ``allowed`` ends false at the first field outside the
    registry."""

    def __init__(self, type_info: TypeInfo) -> None:
        super().__init__()
        self.type_info = type_info
        self.allowed = True

    def enter_field(self, node: FieldNode, *_: object) -> object:
        name = node.name.value
        if name == "__typename":
            return None
        parent = self.type_info.get_parent_type()
        if parent is None or self.type_info.get_field_def() is None:
            self.allowed = False  # not in the schema: the request fails, nothing to cache
        elif parent.name == "Query":
            self.allowed = self.allowed and name in ROOT_FIELDS
        elif name not in REGISTRY_FIELDS.get(parent.name, ()):
            self.allowed = False
        return Visitor.BREAK if not self.allowed else None


def plan_of(schema: GraphQLSchema, document: DocumentNode) -> Plan | None:
    """The plan of ``document``, or None when the cache must not answer it."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].operation is not OperationType.QUERY:
        return None
    type_info = TypeInfo(schema)
    checker = _RegistryOnly(type_info)
    visit(document, TypeInfoVisitor(type_info, checker))
    return Plan(normalized=print_ast(document)) if checker.allowed else None


class Plans:
    """:func:`plan_of` by document text, for the last ``size`` texts seen (most clients send a handful)."""

    def __init__(self, schema: GraphQLSchema, *, max_tokens: int, size: int = 256) -> None:
        self.schema = schema
        self.max_tokens = max_tokens
        self.size = size
        self._plans: OrderedDict[str, Plan | None] = OrderedDict()

    def get(self, text: str) -> Plan | None:
        if len(text) > MAX_TEXT:
            return None
        if text in self._plans:
            self._plans.move_to_end(text)
            return self._plans[text]
        try:
            # The token limit of the schema's own parse (docs/security.md): a huge text costs nothing here.
            plan = plan_of(self.schema, parse(text, max_tokens=self.max_tokens))
        except GraphQLError:
            plan = None  # a syntax error or too many tokens: strawberry answers it
        self._plans[text] = plan
        if len(self._plans) > self.size:
            self._plans.popitem(last=False)
        return plan
