"""Column resolution: a query's output columns, each with the source columns it is computed from.

How a query's output columns are resolved, collapsed end to end:

* A projection's sources are every column its expression references: functions, CASE, aggregates,
  window functions (their PARTITION BY / ORDER BY included) and scalar / ARRAY / IN subqueries,
  whose own outputs are resolved the same way. WHERE / JOIN / GROUP BY columns are filters, not
  values, and are not sources. `count(*)` / `count(1)` depend on the rows of the query's tables
  (`ColumnRef.rows_of`).
* A column of a CTE or derived table is replaced by that column's own sources, recursively, so
  edges always end at base-table columns (or constants). A CTE is resolved once per statement.
* A qualified column `q.c` belongs to the source named `q` (alias, or table name, also the own
  name of an aliased table), looked up in the enclosing queries too (correlated subqueries). When
  no source is named `q`, `q` is a struct column and `q.c` a field of it (BigQuery), so the source
  column is `q`.
* An unqualified column belongs, in order of preference, to (1) the sources that are known to
  output it (CTEs, derived tables, aliased UNNEST / table functions); else (2) in a dialect with
  lateral column aliases, to an earlier alias of the same select list unless the catalog knows
  a candidate table has the column (a `Choice`); else (3) when the name is a source's alias, to
  that whole row (`ARRAY_AGG(t)`); else (4) to the sources that may have it: base tables (columns
  unknown) and derived tables passing a star through; several of them make a `Choice` that the
  catalog settles at expansion or marks ambiguous; else (5) the same search in the enclosing query.
* A column named in a JOIN's USING list comes from every side that may have it.
* UNNEST / LATERAL VIEW / FLATTEN / table functions: every column they produce derives from the
  columns their arguments reference; a function over a whole table (`STREAM(t)`) passes t's
  columns through.
* Set operations combine their branches' columns by position (BY NAME: by name); branches with
  stars are also kept apart (`branches`) so that the catalog can align them by position. EXCEPT
  takes its values from the left branch only (the right one removes rows).
* Stars, with EXCEPT / REPLACE / RENAME: `column_stars`.
* An unaliased expression is named by its SQL text (`column_dialects.ExpressionNames`).
"""

from __future__ import annotations

from sqlglot import exp

from ingest_pipeline.lineage.column_dialects import ExpressionNames, allows_lateral_aliases, without_phrases
from ingest_pipeline.lineage.column_relations import Relations
from ingest_pipeline.lineage.column_scope import EMPTY, Cte, Out, Refs, Scope, Source, choose, combine, items, rename, union
from ingest_pipeline.lineage.column_stars import star_outputs
from ingest_pipeline.lineage.model import QUOTED_STAR, STAR, ColumnRef
from ingest_pipeline.lineage.names import Names, table_ref

_LEAF_TYPES = (exp.Literal, exp.Null, exp.Boolean, exp.Identifier, exp.Var)
_VALUE_NODES = (exp.Column, exp.Query, exp.Count)


class Resolver:
    """Resolves the queries of one statement (CTEs memoised for the statement)."""

    def __init__(self, names: Names) -> None:
        self.names = names
        self.relations = Relations(self)
        self.expression_names = ExpressionNames(names.dialect)
        self.lateral = allows_lateral_aliases(names.dialect)
        # Problems of the SQL itself found while resolving (set operations of unequal width).
        self.problems: list[str] = []
        self._cte_outputs: dict[int, list[Out]] = {}
        self._in_progress: set[int] = set()
        self._table_columns: dict[tuple, Refs] = {}
        # Set operations whose branches have stars: branch outputs, by id of the operation.
        self._branches: dict[int, list[list[Out]]] = {}
        # `SELECT * FROM d` over one derived table or CTE: id of the select -> d's query.
        self._passthrough: dict[int, exp.Expression] = {}

    def column_name(self, node: exp.Expression | None) -> str:
        """A column name as the dialect resolves it; a real column named `*` is `"*"`."""
        name = self.names.ident(node)
        return QUOTED_STAR if name == STAR else name

    # ---------------------------------------------------------------------------------- queries

    def with_env(self, node: exp.Expression, env: dict[str, Cte]) -> dict[str, Cte]:
        with_ = node.args.get("with_")
        if not isinstance(with_, exp.With):
            return env
        recursive = bool(with_.args.get("recursive"))
        scoped = dict(env)
        entries = []
        for cte in items(with_):
            alias = cte.args.get("alias")
            if not isinstance(alias, exp.TableAlias) or alias.this is None:
                continue
            columns = [self.column_name(c) for c in alias.args.get("columns") or ()]
            entry = Cte(cte, None if recursive else dict(scoped), columns)
            entries.append(entry)
            scoped[self.names.ident(alias.this)] = entry
        if recursive:
            for entry in entries:
                entry.env = scoped
        return scoped

    def cte_outputs(self, entry: Cte) -> list[Out]:
        key = id(entry.node)
        cached = self._cte_outputs.get(key)
        if cached is not None:
            return cached
        if key in self._in_progress:
            # A recursive CTE's reference to itself adds nothing its anchor does not already give.
            return []
        self._in_progress.add(key)
        try:
            outputs = self.outputs(entry.node.this, entry.env or {}, None)
        finally:
            self._in_progress.discard(key)
        if entry.columns:
            outputs = rename(outputs, entry.columns)
        self._cte_outputs[key] = outputs
        return outputs

    def outputs(self, node: exp.Expression, env: dict[str, Cte], outer: Scope | None, relation: exp.Expression | None = None) -> list[Out]:
        if isinstance(node, exp.Select):
            return self.select(node, self.with_env(node, env), outer, relation)
        if isinstance(node, exp.Subquery):
            inner = node.this
            if isinstance(inner, (exp.Query, exp.Values)):
                return self.outputs(inner, self.with_env(node, env), outer)
            return []
        if isinstance(node, exp.SetOperation):
            return self.set_operation(node, self.with_env(node, env), outer)
        if isinstance(node, exp.Values):
            return self.values(node, outer or Scope(None), env)
        # Anything else that yields rows (a DuckDB PIVOT statement, a DML with RETURNING, ...):
        # columns unknown, each derived from the tables it reads.
        refs = frozenset(ColumnRef(ref, STAR) for ref in (table_ref(self.names, t) for t in node.find_all(exp.Table)) if ref)
        return [Out(None, refs, tuple(sorted(refs)))]

    def set_operation(self, node: exp.SetOperation, env: dict[str, Cte], outer: Scope | None) -> list[Out]:
        if isinstance(node, exp.Except):
            # The right branch only takes rows away: the values come from the left one.
            return self.outputs(node.this, env, outer)
        if node.args.get("by_name"):
            return combine(self.outputs(node.this, env, outer), self.outputs(node.expression, env, outer), by_name=True)
        branches: list[list[Out]] = []
        for branch in _branches(node):
            outputs = self.outputs(branch, env, outer)
            inner = self.branches(branch)
            branches.extend(inner if inner is not None else [outputs])
        widths = [len(outs) for outs in branches]
        if any(out.name is None for outs in branches for out in outs):
            self._branches[id(node)] = branches
        elif len(set(widths)) > 1:
            self.problems.append(f"set operation branches have {', '.join(map(str, widths))} columns: extra columns ignored")
        combined = branches[0]
        for outs in branches[1:]:
            combined = combine(combined, outs, by_name=False)
        return combined

    def branches(self, node: exp.Expression) -> list[list[Out]] | None:
        """The branches of a set operation whose columns the catalog aligns by position (they have
        stars), once its outputs were resolved; also through `SELECT * FROM` such an operation."""
        while True:
            while isinstance(node, (exp.Subquery, exp.Except)):
                node = node.this
            if isinstance(node, exp.SetOperation):
                return self._branches.get(id(node))
            passed = self._passthrough.get(id(node))
            if passed is None:
                return None
            node = passed

    def select(self, select: exp.Select, env: dict[str, Cte], outer: Scope | None, relation: exp.Expression | None = None) -> list[Out]:
        scope = Scope(outer)
        from_ = select.args.get("from_")
        if isinstance(from_, exp.From):
            self.relations.add(scope, from_.this, env)
        elif relation is not None:
            self.relations.add(scope, relation, env)
        for join in select.args.get("joins") or ():
            if isinstance(join, exp.Join):
                self.relations.add(scope, join.this, env)
                for column in join.args.get("using") or ():
                    scope.using.add(self.column_name(column.this if isinstance(column, exp.Column) else column))
        for lateral in select.args.get("laterals") or ():
            self.relations.add(scope, lateral, env)
        if self.lateral:
            scope.lateral = {}
        projections = items(select)
        outputs: list[Out] = []
        for position, projection in enumerate(projections):
            outputs.extend(self.projection(scope, projection, position, env))
        if len(projections) == 1 and len(scope.sources) == 1 and _is_plain_star(projections[0]):
            query = scope.sources[0].query
            if query is not None:
                self._passthrough[id(select)] = query
        return outputs

    def values(self, values: exp.Values, scope: Scope, env: dict[str, Cte]) -> list[Out]:
        sources: list[set] = []
        for row in items(values):
            for position, item in enumerate(items(row) if isinstance(row, exp.Tuple) else [row]):
                if position == len(sources):
                    sources.append(set())
                sources[position].update(self.sources_of(scope, item, env))
        alias = values.args.get("alias")
        names = [self.column_name(c) for c in alias.args.get("columns") or ()] if isinstance(alias, exp.TableAlias) else []
        return [
            Out(names[i] if i < len(names) else self.expression_names.values_column(i), frozenset(found))
            for i, found in enumerate(sources)
        ]

    # ------------------------------------------------------------------------------ projections

    def projection(self, scope: Scope, projection: exp.Expression, position: int, env: dict[str, Cte]) -> list[Out]:
        if isinstance(projection, exp.Star):
            return star_outputs(self, scope, scope.sources, projection, env)
        if isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star):
            qualifier = self.names.ident(projection.args.get("table"))
            source = scope.lookup(qualifier) if qualifier else None
            if source is not None:
                return star_outputs(self, scope, [source], projection.this, env)
            # `struct_column.*`: the struct's fields, unknown here.
            return [Out(None, self.unqualified(scope, qualifier))]
        if isinstance(projection, exp.Alias):
            alias = projection.args.get("alias")
            sources = self.sources_of(scope, projection.this, env)
            if alias is None or not alias.name:
                return [Out(self.expression_names.name(projection.this), sources)]
            name = self.column_name(alias)
            if scope.lateral is not None:
                scope.lateral[name] = sources
            return [Out(name, sources)]
        value = without_phrases(projection)
        if isinstance(value, exp.Column) and not isinstance(value.this, exp.Star):
            name = self.column_name(value.this)
        elif isinstance(value, exp.Dot) and isinstance(value.expression, exp.Identifier):
            name = self.column_name(value.expression)
        else:
            name = self.expression_names.name(projection)
        return [Out(name, self.sources_of(scope, projection, env))]

    # ----------------------------------------------------------------------------------- columns

    def sources_of(self, scope: Scope, expression: exp.Expression | None, env: dict[str, Cte]) -> Refs:
        """Every source column an expression's value is computed from (nested queries included)."""
        if expression is None:
            return EMPTY
        if type(expression) is exp.Column:
            return self.column(scope, expression)
        if isinstance(expression, _LEAF_TYPES):
            return EMPTY
        found: set = set()
        nodes = list(expression.find_all(*_VALUE_NODES))
        nested: set[int] = set()
        for node in nodes:
            if isinstance(node, exp.Query):
                # Columns of a nested query belong to its own scope; it contributes its outputs.
                nested.update(id(inner) for inner in node.find_all(*_VALUE_NODES) if inner is not node)
        for node in nodes:
            if id(node) in nested:
                continue
            if isinstance(node, exp.Column):
                found.update(self.column(scope, node))
            elif isinstance(node, exp.Query):
                for out in self.outputs(node, env, scope):
                    found.update(out.sources)
            elif isinstance(node.this, (exp.Star, exp.Literal)):
                # count(*), count(1): the number of rows of the query's tables.
                found.update(self.relations.scope_rows(scope))
        return frozenset(found)

    def column(self, scope: Scope, column: exp.Column) -> Refs:
        names = self.names
        args = column.args
        this = args.get("this")
        if isinstance(this, exp.Star):
            qualifier = names.ident(args.get("table"))
            source = scope.lookup(qualifier) if qualifier else None
            return self.row(source) if source is not None else EMPTY
        qualifier_node = args.get("table")
        name = names.ident(this)
        if name == STAR:
            name = QUOTED_STAR
        if qualifier_node is None:
            return self.unqualified(scope, name)
        if args.get("db") is None:
            source = scope.lookup(names.ident(qualifier_node))
            if source is not None:
                return self.source_column(source, name)
            return self.unqualified(scope, names.ident(qualifier_node))
        parts = column.parts
        if len(parts) == 1:
            return self.unqualified(scope, self.column_name(column.this))
        first = names.ident(parts[0])
        source = scope.lookup(first)
        if source is not None:
            return self.source_column(source, self.column_name(parts[1]))
        if len(parts) > 2:
            source = scope.lookup(names.ident(column.args.get("table")))
            if source is not None:
                return self.source_column(source, self.column_name(column.this))
        # `struct_column.field`: the field comes from the struct column.
        return self.unqualified(scope, first)

    def unqualified(self, scope: Scope | None, name: str) -> Refs:
        while scope is not None:
            sources = scope.sources
            known = [s for s in sources if s.knows(name)]
            if known:
                if name in scope.using:
                    known.extend(s for s in sources if s not in known and s.may_have(name))
                return union(self.source_column(s, name) for s in known)
            if scope.lateral is not None and name in scope.lateral:
                groups = [self.source_column(s, name) for s in sources if s.may_have(name)]
                return choose(name, groups, scope.lateral[name])
            row = scope.keys.get(name)
            if row is not None:
                return self.row(row)
            candidates = [s for s in sources if s.may_have(name)]
            if len(candidates) == 1 or (candidates and name in scope.using):
                return union(self.source_column(s, name) for s in candidates)
            if candidates:
                return choose(name, [self.source_column(s, name) for s in candidates])
            scope = scope.parent
        return EMPTY

    def source_column(self, source: Source, name: str) -> Refs:
        if source.pivot is not None and name in source.pivot[0]:
            return source.pivot[0][name]
        if source.kind == "table":
            assert source.table is not None
            key = (source.table, name)
            found = self._table_columns.get(key)
            if found is None:
                found = self._table_columns[key] = frozenset((ColumnRef(source.table, name),))
            return found
        if source.kind == "func":
            if any(ref.is_star for ref in source.deps):
                return frozenset(ColumnRef(ref.table, name) if ref.is_star else ref for ref in source.deps)  # type: ignore[union-attr]
            return source.deps
        named = source.named().get(name)
        if named is not None:
            return named
        groups = []
        for out in source.stars():
            group = frozenset(
                ColumnRef(ref.table, name) if ref.is_star else ref  # type: ignore[union-attr]
                for ref in out.sources
                if not ref.is_star or name not in ref.excluded  # type: ignore[union-attr]
            )
            if group:
                groups.append(group)
        if len(groups) == 1:
            return groups[0]
        # Several stars side by side (`SELECT x.*, y.*`): the column is in one of them.
        return choose(name, groups)

    def row(self, source: Source) -> Refs:
        """A whole-row reference (`TO_JSON_STRING(t)`, `ARRAY_AGG(t)`): every column of the source."""
        if source.kind == "table":
            assert source.table is not None
            return frozenset((ColumnRef(source.table, STAR),))
        if source.kind == "func":
            return source.deps
        return union(out.sources for out in source.outputs)


def _is_plain_star(projection: exp.Expression) -> bool:
    star = projection.this if isinstance(projection, exp.Column) else projection
    return type(star) is exp.Star and not any(star.args.get(k) for k in ("except_", "replace", "rename"))


def _branches(node: exp.SetOperation) -> list[exp.Expression]:
    """The branches of a chain of set operations, left to right (`a UNION b UNION c`)."""
    branches: list[exp.Expression] = []
    stack: list[exp.Expression] = [node.expression, node.this]
    while stack:
        current = stack.pop()
        if isinstance(current, (exp.Union, exp.Intersect)) and not current.args.get("by_name") and not current.args.get("with_"):
            stack.append(current.expression)
            stack.append(current.this)
        else:
            branches.append(current)
    return branches
