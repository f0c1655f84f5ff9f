"""The GraphQL schema: each domain's Query and Mutation merged into one."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors, QueryDepthLimiter
from strawberry.tools import merge_types

from schema.auth.mutations import AuthMutation
from schema.auth.queries import AuthQuery
from schema.factories.mutations import FactoriesMutation
from schema.factories.queries import FactoriesQuery
from schema.rfqs.mutations import RfqMutation
from schema.rfqs.queries import RfqQuery

# Each domain adds its Query / Mutation class here.
QUERIES: tuple[type, ...] = (AuthQuery, FactoriesQuery, RfqQuery)
MUTATIONS: tuple[type, ...] = (AuthMutation, FactoriesMutation, RfqMutation)

Query = merge_types("Query", QUERIES)
Mutation = merge_types("Mutation", MUTATIONS)


def _is_unexpected(error: GraphQLError) -> bool:
    """Mask only errors that carry no code of ours: those are bugs, logged with their id, not shown."""
    if error.original_error is None:
        return False  # a syntax or validation error of the query itself
    return not (error.extensions and "code" in error.extensions)


def build_schema(*, mask_errors: bool) -> strawberry.Schema:
    """The schema; ``mask_errors`` in production hides internal exception texts from clients."""
    # Factories, not instances: Strawberry builds fresh extensions for each request.
    extensions: list[object] = [lambda: QueryDepthLimiter(max_depth=12)]
    if mask_errors:
        extensions.append(lambda: MaskErrors(should_mask_error=_is_unexpected))
    return strawberry.Schema(query=Query, mutation=Mutation, extensions=extensions)  # type: ignore[arg-type]
