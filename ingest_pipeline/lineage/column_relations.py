"""Scope building: the FROM / JOIN / LATERAL relations of a query registered as sources of its scope.

Base tables, CTE references, derived tables, parenthesised join trees (at any depth), VALUES,
UNNEST / LATERAL VIEW / FLATTEN and other table functions, and the PIVOT / UNPIVOT applied to
them. Derived tables and table-function arguments are resolved through the `Resolver`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from ingest_pipeline.lineage.column_scope import EMPTY, Cte, Out, Refs, Scope, Source, items, rename, union
from ingest_pipeline.lineage.model import STAR, ColumnRef
from ingest_pipeline.lineage.names import table_ref

if TYPE_CHECKING:
    from ingest_pipeline.lineage.column_resolve import Resolver


class Relations:
    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self.names = resolver.names
        self._rows: dict[int, Refs] = {}
        self._rows_in_progress: set[int] = set()

    def add(self, scope: Scope, relation: exp.Expression, env: dict[str, Cte]) -> None:
        """Register one FROM / JOIN / LATERAL relation (and the joins nested in it) in `scope`."""
        if isinstance(relation, exp.Final):
            relation = relation.this
        names = self.names
        alias = relation.args.get("alias")
        alias_key = names.ident(alias.this) if isinstance(alias, exp.TableAlias) and alias.this else None
        alias_columns = [self.resolver.column_name(c) for c in alias.args.get("columns") or ()] if isinstance(alias, exp.TableAlias) else []
        if isinstance(relation, exp.Table):
            self._table(scope, relation, env, alias_key, alias_columns)
        elif isinstance(relation, exp.Subquery):
            if alias_key is None and _is_join_tree(relation.this):
                # A parenthesised join, `((a JOIN b) JOIN c)`: its tables are sources of this scope.
                self.add(scope, relation.this, env)
            else:
                lateral = isinstance(relation.parent, exp.Lateral)
                outputs = self.resolver.outputs(relation, env, scope if lateral else scope.parent)
                source = Source("derived", outputs=rename(outputs, alias_columns))
                source.query, source.env = relation, env
                self._pivot(source, relation, scope, env)
                scope.add(source, alias_key)
        elif isinstance(relation, exp.Lateral):
            inner = relation.this
            if isinstance(inner, (exp.Subquery, exp.Query)):
                source = Source("derived", outputs=rename(self.resolver.outputs(inner, env, scope), alias_columns))
                source.query, source.env = inner, env
            else:
                source = Source("func", deps=self.resolver.sources_of(scope, inner, env), names=alias_columns or None)
            scope.add(source, alias_key)
            return
        elif isinstance(relation, exp.Values):
            scope.add(Source("derived", outputs=rename(self.resolver.values(relation, scope, env), alias_columns)), alias_key)
            return
        else:
            self._table_function(scope, relation, env, alias_key, alias_columns)
            return
        for join in relation.args.get("joins") or ():
            if isinstance(join, exp.Join):
                self.add(scope, join.this, env)

    def _table(self, scope: Scope, relation: exp.Table, env: dict[str, Cte], alias_key: str | None, alias_columns: list[str]) -> None:
        ident = relation.this
        if isinstance(ident, exp.Parameter):
            # A T-SQL table variable (`FROM @t AS t`) holds rows like a table.
            ref = table_ref(self.names, relation)
            if ref is not None:
                scope.add(Source("table", table=ref), alias_key or ref.name, alias=alias_key is not None, table_name=ref.name)
                return
        if not isinstance(ident, exp.Identifier):
            # A table function: FROM generate_series(...), TABLE(FLATTEN(...)), STREAM(t). Its
            # rows derive from the columns, and the whole tables, its arguments reference.
            deps = self.resolver.sources_of(scope, ident, env) | self.whole_tables(ident)
            source = Source("func", deps=deps, names=alias_columns or None)
            self._pivot(source, relation, scope, env)
            scope.add(source, alias_key)
            return
        own_name = self.names.ident(ident)
        cte = None
        if not relation.args.get("db") and not relation.args.get("catalog"):
            cte = env.get(self.names.table_part(ident))
        if cte is not None:
            source = Source("derived", outputs=rename(self.resolver.cte_outputs(cte), alias_columns))
            source.query, source.env = cte.node.this, cte.env or {}
        else:
            ref = table_ref(self.names, relation)
            source = Source("table", table=ref) if ref else Source("func", names=alias_columns or None)
        self._pivot(source, relation, scope, env)
        scope.add(source, alias_key or own_name, alias=alias_key is not None, table_name=own_name)

    def _table_function(self, scope: Scope, relation: exp.Expression, env: dict[str, Cte], alias_key: str | None, alias_columns: list[str]) -> None:
        """UNNEST and other table-valued expressions: every column derives from their arguments."""
        deps = self.resolver.sources_of(scope, relation, env) | self.whole_tables(relation)
        offset = relation.args.get("offset") if isinstance(relation, exp.Unnest) else None
        scope.add(Source("func", deps=deps, names=list(alias_columns) or None), alias_key)
        if isinstance(offset, exp.Identifier):
            scope.add(Source("derived", outputs=[Out(self.resolver.column_name(offset), EMPTY)]), None)

    def whole_tables(self, node: exp.Expression) -> Refs:
        """`t.*` for each table a table function takes as a whole (`STREAM(t)`, `TABLE(t)`), not
        through a query of its own."""
        found = set()
        for table in node.find_all(exp.Table):
            parent = table.parent
            while parent is not None and parent is not node and not isinstance(parent, exp.UNWRAPPED_QUERIES):
                parent = parent.parent
            if parent is node:
                ref = table_ref(self.names, table)
                if ref is not None:
                    found.add(ColumnRef(ref, STAR))
        return frozenset(found)

    def _pivot(self, source: Source, relation: exp.Expression, scope: Scope, env: dict[str, Cte]) -> None:
        """PIVOT / UNPIVOT on a relation: named pivot outputs derive from the pivoted columns."""
        pivots = relation.args.get("pivots")
        if not pivots:
            return
        column_name, source_column = self.resolver.column_name, self.resolver.source_column
        outputs: dict[str, Refs] = {}
        consumed: set[str] = set()
        for pivot in pivots:
            if not isinstance(pivot, exp.Pivot):
                continue
            if pivot.args.get("unpivot"):
                value_names = [column_name(e.this if isinstance(e, exp.Column) else e) for e in items(pivot)]
                for field in pivot.args.get("fields") or ():
                    if not isinstance(field, exp.In):
                        continue
                    if isinstance(field.this, exp.Column):
                        outputs[column_name(field.this.this)] = EMPTY
                    unpivoted: set = set()
                    for item in items(field):
                        for column in item.find_all(exp.Column):
                            name = column_name(column.this)
                            consumed.add(name)
                            unpivoted.update(source_column(source, name))
                    for value_name in value_names:
                        outputs[value_name] = frozenset(unpivoted)
            else:
                used: set = set()
                for node in [*items(pivot), *(pivot.args.get("fields") or ())]:
                    for column in node.find_all(exp.Column):
                        name = column_name(column.this)
                        consumed.add(name)
                        used.update(source_column(source, name))
                for column in pivot.args.get("columns") or ():
                    outputs[column_name(column)] = frozenset(used)
        source.pivot = (outputs, frozenset(consumed))

    # ---------------------------------------------------------------------------------- rows

    def scope_rows(self, scope: Scope) -> Refs:
        """What the number of rows of a query level depends on (`count(*)`): the rows of its
        base tables, through derived tables and CTEs, and the arguments of its table functions."""
        if scope.rows is None:
            scope.rows = union(self._source_rows(source) for source in scope.sources)
        return scope.rows

    def _source_rows(self, source: Source) -> Refs:
        if source.kind == "table":
            assert source.table is not None
            return frozenset((ColumnRef.rows_of(source.table),))
        if source.kind == "func":
            return frozenset(ref for ref in source.deps if not ref.is_star) | frozenset(
                ColumnRef.rows_of(ref.table) for ref in source.deps if ref.is_star
            )
        return self.query_rows(source.query, source.env or {}) if source.query is not None else EMPTY

    def query_rows(self, node: exp.Expression, env: dict[str, Cte]) -> Refs:
        key = id(node)
        cached = self._rows.get(key)
        if cached is not None:
            return cached
        if key in self._rows_in_progress:
            return EMPTY  # a recursive CTE's rows come from its anchor
        self._rows_in_progress.add(key)
        try:
            rows = self._query_rows(node, env)
        finally:
            self._rows_in_progress.discard(key)
        self._rows[key] = rows
        return rows

    def _query_rows(self, node: exp.Expression, env: dict[str, Cte]) -> Refs:
        resolver = self.resolver
        if isinstance(node, exp.Subquery):
            return self.query_rows(node.this, resolver.with_env(node, env))
        if isinstance(node, exp.SetOperation):
            env = resolver.with_env(node, env)
            return self.query_rows(node.this, env) | self.query_rows(node.expression, env)
        if not isinstance(node, exp.Select):
            return EMPTY
        env = resolver.with_env(node, env)
        from_ = node.args.get("from_")
        relations = [from_.this] if isinstance(from_, exp.From) else []
        relations.extend(join.this for join in node.args.get("joins") or () if isinstance(join, exp.Join))
        found: set = set()
        for relation in relations:
            tables, subqueries = _from_items(relation)
            for table in tables:
                cte = None
                if isinstance(table.this, exp.Identifier) and not table.args.get("db") and not table.args.get("catalog"):
                    cte = env.get(self.names.table_part(table.this))
                if cte is not None:
                    found.update(self.query_rows(cte.node.this, cte.env or {}))
                else:
                    ref = table_ref(self.names, table)
                    if ref is not None:
                        found.add(ColumnRef.rows_of(ref))
            for subquery in subqueries:
                found.update(self.query_rows(subquery, env))
        return frozenset(found)


def _is_join_tree(node: exp.Expression | None) -> bool:
    """True for the inside of an unaliased parenthesised FROM item that is a table and its joins."""
    while isinstance(node, exp.Subquery) and not node.alias:
        node = node.this
    return isinstance(node, exp.Table)


def _from_items(relation: exp.Expression) -> tuple[list[exp.Table], list[exp.Subquery]]:
    """Base tables and derived tables of a FROM item and of the joins nested in it."""
    tables: list[exp.Table] = []
    subqueries: list[exp.Subquery] = []
    stack = [relation]
    while stack:
        node = stack.pop()
        if isinstance(node, exp.Subquery):
            if node.alias or not _is_join_tree(node.this):
                subqueries.append(node)
                continue
            stack.append(node.this)
        elif isinstance(node, exp.Table) and isinstance(node.this, (exp.Identifier, exp.Parameter)):
            tables.append(node)
        else:
            continue
        stack.extend(join.this for join in node.args.get("joins") or () if isinstance(join, exp.Join))
    return tables, subqueries
