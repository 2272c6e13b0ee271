"""Column lineage of one parsed statement: each written column -> the source columns it is computed from.

Pure Python over the sqlglot tree, used by `extract.py`. The file alone is known here, so the
columns of base tables are not: a `*` over a base table stays a star (`ColumnRef(t, "*")`) and an
unqualified column that several tables may have stays a `Choice`, both settled later from the
corpus catalog by `lineage.catalog.expand_stars`.

The work is split along its seams: `column_scope` (outputs, sources, scopes), `column_relations`
(building a query's scope from its FROM clause), `column_resolve` (output columns and what each
is computed from), `column_dialects` (lateral aliases, names of unaliased columns) and
`column_targets` (one handler per kind of written table).

Why not `sqlglot.optimizer.qualify` / `sqlglot.lineage`: qualifying costs about 2.5x the parse
on bigquery-etl (and needs schemas to expand stars); one resolver pass over the tree with CTEs
memoised costs a few percent of the parse there. Recursion deeper than the interpreter's stack
(about 200 nested scalar subqueries) is recorded as a `column_error`.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from ingest_pipeline.lineage.column_resolve import Resolver
from ingest_pipeline.lineage.column_targets import Targets
from ingest_pipeline.lineage.model import ColumnLineage, ColumnRef, StatementLineage, TableRef
from ingest_pipeline.lineage.names import Names

# Statement node type -> handler, for the kinds whose kind alone does not decide.
_HANDLERS: tuple[tuple[type[exp.Expression], Callable[[Targets, exp.Expression], None]], ...] = (
    (exp.Insert, lambda targets, node: targets.insert(node, {})),  # type: ignore[arg-type]
    (exp.MultitableInserts, Targets.multitable_insert),  # type: ignore[dict-item]
    (exp.Merge, Targets.merge),  # type: ignore[dict-item]
    (exp.Update, Targets.update),  # type: ignore[dict-item]
)


def statement_columns(
    names: Names, expression: exp.Expression, statement: StatementLineage
) -> tuple[list[ColumnLineage], list[ColumnRef], list[TableRef]]:
    """(column edges, defined columns, positional targets) of one statement.

    Problems of the SQL itself that column lineage works around (set-operation branches of unequal
    width) are recorded in `statement.column_error`; the edges are still returned.
    """
    resolver = Resolver(names)
    targets = Targets(resolver)
    kind = statement.kind
    if kind in ("CREATE_TABLE", "CREATE_VIEW") and isinstance(expression, exp.Create):
        targets.create(expression)
    elif kind == "SELECT_INTO":
        targets.select_into(expression)
    else:
        for node_type, handler in _HANDLERS:
            if isinstance(expression, node_type):
                handler(targets, expression)
                break
    if resolver.problems:
        statement.column_error = "; ".join(dict.fromkeys(resolver.problems))
    return targets.edges.result(), targets.defined, targets.positional
