"""Column lineage of one parsed statement: each written column -> the source columns it is computed from.

Pure Python over the sqlglot tree, used by `extract.py`; the file alone is known, so columns of
base tables are unknown here: a `*` over a base table stays a star (`ColumnRef(t, "*")`, expanded
later from a corpus catalog by `lineage.catalog.expand_stars`).

How a query's output columns are resolved, collapsed end to end:

* A projection's sources are every column its expression references: functions, CASE, aggregates,
  window functions (their PARTITION BY / ORDER BY included) and scalar / ARRAY / IN subqueries,
  whose own outputs are resolved the same way. WHERE / JOIN / GROUP BY columns are filters, not
  values, and are not sources.
* A column of a CTE or derived table is replaced by that column's own sources, recursively, so
  edges always end at base-table columns (or constants). A CTE is resolved once per statement.
* A qualified column `q.c` belongs to the source named `q` (alias, or table name), looked up in the
  enclosing queries too (correlated subqueries). When no source is named `q`, `q` is a struct
  column and `q.c` a field of it (BigQuery), so the source column is `q`.
* An unqualified column belongs, in order of preference, to (1) the sources that are known to
  output it (CTEs, derived tables, aliased UNNEST / table functions); else (2) when the name is a
  source's alias, to that whole row (`ARRAY_AGG(t)`: every column of t, `t.*`); else (3) to every
  source that may have it: base tables (columns unknown) and derived tables passing a star
  through; else (4) the same search in the enclosing query. Rule (3) over-approximates a column
  that is ambiguous for lack of schemas: the edge goes to each candidate rather than to none, so
  no dependency is lost. `expand_stars` later drops candidates that the catalog knows lack it.
* A column named in a JOIN's USING list comes from every side that may have it.
* UNNEST / LATERAL VIEW / FLATTEN / table functions: every column they produce derives from the
  columns their arguments reference; a function over a whole table (`STREAM(t)`) passes t's
  columns through.
* Set operations combine their branches' columns by position (BY NAME: by name).
* `* EXCEPT (...)` / `* EXCLUDE (...)` leave columns out of a star; `* REPLACE (e AS c)` keeps c in
  the definition's column list but derives it from e; `* RENAME (a AS b)` moves a out of the star
  and appends b.

Targets: CREATE TABLE / CTAS / CREATE VIEW / SELECT INTO (output names, or the statement's column
list by position), INSERT (column list by position; BY NAME by name; no list: positional, see
`StatementLineage.positional`), MERGE (UPDATE SET, INSERT (cols) VALUES, INSERT ROW / INSERT * /
UPDATE SET *), UPDATE SET. Unnamed expressions are named `_col_<i>` (0-based position).

Why not `sqlglot.optimizer.qualify` / `sqlglot.lineage`: qualifying costs about 2.5x the parse
on bigquery-etl (and needs schemas to expand stars); one resolver pass over the tree with CTEs
memoised costs a few percent of the parse there. Limits: a lateral reference to an earlier
select-list alias resolves like any unqualified column; recursion deeper than the interpreter's
stack (about 200 nested scalar subqueries) is recorded as a `column_error`.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlglot import exp

from ingest_pipeline.lineage.model import STAR, ColumnLineage, ColumnRef, StatementLineage, TableRef
from ingest_pipeline.lineage.names import Names, table_ref

_EMPTY: frozenset[ColumnRef] = frozenset()
_LEAF_TYPES = (exp.Literal, exp.Null, exp.Boolean, exp.Identifier, exp.Var)


def statement_columns(
    names: Names, expression: exp.Expression, statement: StatementLineage
) -> tuple[list[ColumnLineage], list[ColumnRef], list[TableRef]]:
    """(column edges, defined columns, positional targets) of one statement."""
    resolver = _Resolver(names)
    kind = statement.kind
    if kind in ("CREATE_TABLE", "CREATE_VIEW") and isinstance(expression, exp.Create):
        resolver.create(expression)
    elif kind == "SELECT_INTO":
        resolver.select_into(expression)
    elif isinstance(expression, exp.Insert):
        resolver.insert(expression, {})
    elif isinstance(expression, exp.MultitableInserts):
        resolver.multitable_insert(expression)
    elif isinstance(expression, exp.Merge):
        resolver.merge(expression)
    elif isinstance(expression, exp.Update):
        resolver.update(expression)
    return resolver.edges.result(), resolver.defined, resolver.positional


# ------------------------------------------------------------------------------------------------
# Output columns and sources
# ------------------------------------------------------------------------------------------------


class _Out:
    """One output column of a query; `name is None` for a star entry (columns unknown here)."""

    __slots__ = ("name", "sources", "defined", "listed")

    def __init__(
        self,
        name: str | None,
        sources: frozenset[ColumnRef],
        defined: tuple[ColumnRef, ...] = (),
        listed: bool = True,
    ) -> None:
        self.name = name
        self.sources = sources
        # Star entries: the star refs that name this entry's columns in a definition.
        self.defined = defined
        # False for `* REPLACE` outputs: the star that precedes them already lists the column.
        self.listed = listed


class _Source:
    """A relation a query selects from."""

    __slots__ = ("kind", "table", "outputs", "deps", "names", "_named", "_stars", "pivot")

    def __init__(
        self,
        kind: str,
        table: TableRef | None = None,
        outputs: list[_Out] | None = None,
        deps: frozenset[ColumnRef] = _EMPTY,
        names: list[str] | None = None,
    ) -> None:
        self.kind = kind  # "table", "derived" or "func"
        self.table = table
        self.outputs = outputs or []
        self.deps = deps
        self.names = names
        self._named: dict[str, frozenset[ColumnRef]] | None = None
        self._stars: list[_Out] | None = None
        # Pivoted relation: (output name -> sources, names the pivot consumes).
        self.pivot: tuple[dict[str, frozenset[ColumnRef]], frozenset[str]] | None = None

    def named(self) -> dict[str, frozenset[ColumnRef]]:
        if self._named is None:
            named: dict[str, frozenset[ColumnRef]] = {}
            stars = []
            for out in self.outputs:
                if out.name is None:
                    stars.append(out)
                else:
                    named[out.name] = named.get(out.name, _EMPTY) | out.sources
            self._named, self._stars = named, stars
        return self._named

    def stars(self) -> list[_Out]:
        self.named()
        return self._stars or []

    def knows(self, name: str) -> bool:
        if self.pivot is not None and name in self.pivot[0]:
            return True
        if self.kind == "derived":
            return name in self.named()
        if self.kind == "func":
            return self.names is not None and name in self.names
        return False

    def may_have(self, name: str) -> bool:
        if self.kind == "table":
            return self.pivot is None or name not in self.pivot[1]
        if self.kind == "derived":
            return any(_star_may_have(out, name) for out in self.stars())
        # A table function over whole tables (STREAM(t)) has their columns.
        return self.names is None and any(ref.is_star for ref in self.deps)


def _star_may_have(out: _Out, name: str) -> bool:
    return any(not ref.is_star or name not in ref.excluded for ref in out.sources) or not out.sources


class _Scope:
    __slots__ = ("sources", "keys", "aliases", "parent", "using")

    def __init__(self, parent: _Scope | None) -> None:
        self.sources: list[_Source] = []
        self.keys: dict[str, _Source] = {}
        # Keys that are explicit aliases (`t AS a`), not table names.
        self.aliases: set[str] = set()
        self.parent = parent
        # Columns of JOIN ... USING (...): their value comes from every side that has them.
        self.using: set[str] = set()

    def add(self, source: _Source, key: str | None, alias: bool = False) -> None:
        self.sources.append(source)
        if key and key not in self.keys:
            self.keys[key] = source
            if alias:
                self.aliases.add(key)

    def lookup(self, key: str) -> _Source | None:
        scope: _Scope | None = self
        while scope is not None:
            found = scope.keys.get(key)
            if found is not None:
                return found
            scope = scope.parent
        return None


class _Cte:
    __slots__ = ("node", "env", "columns")

    def __init__(self, node: exp.CTE, env: dict[str, _Cte] | None, columns: list[str]) -> None:
        self.node = node
        self.env = env
        self.columns = columns


class _Edges:
    """Column edges in output order; a named target written twice gets one edge (sources merged)."""

    def __init__(self) -> None:
        self.rows: list[tuple[ColumnRef, set[ColumnRef]]] = []
        self.index: dict[ColumnRef, int] = {}

    def add(self, target: ColumnRef, sources: Iterable[ColumnRef], merge: bool = True) -> None:
        if merge and not target.is_star:
            at = self.index.get(target)
            if at is not None:
                self.rows[at][1].update(sources)
                return
            self.index[target] = len(self.rows)
        elif merge:
            # Star targets pass columns through one star each; only an identical row is redundant.
            row = (target, set(sources))
            if row not in self.rows:
                self.rows.append(row)
            return
        self.rows.append((target, set(sources)))

    def result(self) -> list[ColumnLineage]:
        return [ColumnLineage(target, sorted(sources)) for target, sources in self.rows]


class _Resolver:
    def __init__(self, names: Names) -> None:
        self.names = names
        self.edges = _Edges()
        self.defined: list[ColumnRef] = []
        self.positional: list[TableRef] = []
        self._cte_outputs: dict[int, list[_Out]] = {}
        self._in_progress: set[int] = set()
        self._table_columns: dict[tuple[TableRef, str], frozenset[ColumnRef]] = {}

    # -------------------------------------------------------------------------------- statements

    def create(self, create: exp.Create) -> None:
        target_node = create.this.this if isinstance(create.this, exp.Schema) else create.this
        if not isinstance(target_node, exp.Table):
            return
        target = table_ref(self.names, target_node)
        if target is None:
            return
        listed: list[str] = []
        likes: list[exp.Table] = []
        if isinstance(create.this, exp.Schema):
            for item in _items(create.this):
                if isinstance(item, exp.ColumnDef):
                    listed.append(self.names.ident(item.this))
                elif isinstance(item, exp.Identifier):
                    listed.append(self.names.ident(item))
                elif isinstance(item, exp.LikeProperty) and isinstance(item.this, exp.Table):
                    likes.append(item.this)
        properties = create.args.get("properties")
        if isinstance(properties, exp.Properties):
            likes.extend(p.this for p in _items(properties) if isinstance(p, exp.LikeProperty) and isinstance(p.this, exp.Table))
        query = create.expression
        if isinstance(query, exp.Query):
            outputs = self.outputs(query, self.with_env(create, {}), None)
            if listed:
                outputs = _rename(outputs, listed)
            self.define(target, outputs)
            return
        for like in likes:
            ref = table_ref(self.names, like)
            if ref is not None:
                self.defined.append(ColumnRef(ref, STAR))
        self.defined.extend(ColumnRef(target, name) for name in listed)
        clone = create.args.get("clone")
        if isinstance(clone, exp.Clone) and isinstance(clone.this, exp.Table):
            ref = table_ref(self.names, clone.this)
            if ref is not None:
                self.defined.append(ColumnRef(ref, STAR))
                self.edges.add(ColumnRef(target, STAR), [ColumnRef(ref, STAR)], merge=False)

    def select_into(self, expression: exp.Expression) -> None:
        node = expression
        while isinstance(node, (exp.SetOperation, exp.Subquery)):
            node = node.this
        into = node.args.get("into") if isinstance(node, exp.Select) else None
        target_node = into.this if isinstance(into, exp.Into) else None
        if isinstance(target_node, exp.Schema):
            target_node = target_node.this
        if not isinstance(target_node, exp.Table):
            return
        target = table_ref(self.names, target_node)
        if target is not None:
            self.define(target, self.outputs(expression, {}, None))

    def define(self, target: TableRef, outputs: list[_Out]) -> None:
        seen: set[ColumnRef] = set()
        for out in outputs:
            if out.name is None:
                self.edges.add(ColumnRef(target, STAR), out.sources)
                refs = out.defined or (ColumnRef(target, STAR),)
            else:
                self.edges.add(ColumnRef(target, out.name), out.sources)
                refs = (ColumnRef(target, out.name),)
            if out.listed:
                for ref in refs:
                    if ref not in seen:
                        seen.add(ref)
                        self.defined.append(ref)

    def insert(
        self,
        insert: exp.Insert,
        env: dict[str, _Cte],
        source_outputs: list[_Out] | None = None,
        source_scope: _Scope | None = None,
        source_relation: exp.Expression | None = None,
    ) -> None:
        schema = insert.this
        target_node = schema.this if isinstance(schema, exp.Schema) else schema
        if not isinstance(target_node, exp.Table):
            return
        target = table_ref(self.names, target_node)
        if target is None:
            return
        columns = None
        if isinstance(schema, exp.Schema) and _items(schema):
            columns = [self.names.ident(c.this if isinstance(c, exp.Column) else c) for c in _items(schema)]
        env = self.with_env(insert, env)
        source = insert.expression
        if isinstance(source, exp.Values):
            outputs = self.values(source, source_scope or _Scope(None), env)
        elif isinstance(source, exp.Query):
            outputs = self.outputs(source, env, None, source_relation)
        elif source is None and source_outputs is not None:
            outputs = source_outputs
        else:
            return
        if insert.args.get("by_name"):
            for out in outputs:
                self.edges.add(ColumnRef(target, out.name or STAR), out.sources)
        elif columns is not None:
            for column, sources in _by_position(columns, outputs):
                self.edges.add(ColumnRef(target, column), sources)
        else:
            for out in outputs:
                self.edges.add(ColumnRef(target, out.name or STAR), out.sources, merge=False)
            if outputs and target not in self.positional:
                self.positional.append(target)

    def multitable_insert(self, node: exp.MultitableInserts) -> None:
        env = self.with_env(node, {})
        source = node.args.get("source")
        scope = _Scope(None)
        outputs: list[_Out] = []
        relation = None
        if isinstance(source, exp.Query) and not isinstance(source, exp.Subquery):
            outputs = self.outputs(source, env, None)
            scope.add(_Source("derived", outputs=outputs), None)
        elif source is not None:
            # Hive `FROM src INSERT ... SELECT ...`: each SELECT reads the shared FROM relation.
            relation = source
        for item in _items(node):
            insert = item.this if isinstance(item, exp.ConditionalInsert) else item
            if isinstance(insert, exp.Insert):
                self.insert(insert, env, outputs, scope, relation)

    def merge(self, merge: exp.Merge) -> None:
        target_node = merge.this
        if not isinstance(target_node, exp.Table):
            return
        target = table_ref(self.names, target_node)
        if target is None:
            return
        env = self.with_env(merge, {})
        scope = _Scope(None)
        scope.add(_Source("table", table=target), self._relation_key(target_node))
        before = len(scope.sources)
        using = merge.args.get("using")
        if using is not None:
            self.add_relation(scope, using, env)
        source = scope.sources[before] if len(scope.sources) > before else None
        whens = merge.args.get("whens")
        for when in _items(whens) if isinstance(whens, exp.Whens) else ():
            then = when.args.get("then")
            if isinstance(then, exp.Update):
                for item in _items(then):
                    if isinstance(item, exp.Star) and source is not None:
                        self.star_edges(target, self.source_star(source, set(), {}, {}))
                    elif isinstance(item, exp.EQ) and isinstance(item.this, exp.Column):
                        column = self.names.ident(item.this.this)
                        self.edges.add(ColumnRef(target, column), self.sources_of(scope, item.expression, env))
            elif isinstance(then, exp.Insert):
                columns, values = then.this, then.expression
                if isinstance(columns, (exp.Tuple, exp.Schema)) and isinstance(values, exp.Tuple):
                    for column, value in zip(_items(columns), _items(values)):
                        name = self.names.ident(column.this if isinstance(column, exp.Column) else column)
                        self.edges.add(ColumnRef(target, name), self.sources_of(scope, value, env))
                elif source is not None and (isinstance(columns, exp.Star) or (columns is not None and columns.name.upper() == "ROW")):
                    self.star_edges(target, self.source_star(source, set(), {}, {}))

    def update(self, update: exp.Update) -> None:
        env = self.with_env(update, {})
        scope = _Scope(None)
        from_ = update.args.get("from_")
        if isinstance(from_, exp.From):
            self.add_relation(scope, from_.this, env)
        for join in update.args.get("joins") or ():
            self.add_relation(scope, join.this, env)
        this = update.this
        if not isinstance(this, exp.Table):
            return
        target_source = None
        if not this.args.get("db") and not this.args.get("alias") and isinstance(this.this, exp.Identifier):
            # T-SQL `UPDATE a SET ... FROM t AS a`: the target is the aliased FROM table.
            name = self.names.ident(this.this)
            aliased = scope.keys.get(name) if name in scope.aliases else None
            if aliased is not None and aliased.kind == "table":
                target_source = aliased
        if target_source is None:
            before = len(scope.sources)
            self.add_relation(scope, this, env)
            target_source = scope.sources[before] if len(scope.sources) > before else None
        if target_source is None or target_source.table is None:
            return
        for item in _items(update):
            if not isinstance(item, exp.EQ) or not isinstance(item.this, exp.Column):
                continue
            column = item.this
            written = target_source.table
            qualifier = column.args.get("table")
            if qualifier is not None:
                named = scope.lookup(self.names.ident(qualifier))
                if named is not None and named.kind == "table" and named.table is not None:
                    written = named.table
            self.edges.add(ColumnRef(written, self.names.ident(column.this)), self.sources_of(scope, item.expression, env))

    def star_edges(self, target: TableRef, outputs: list[_Out]) -> None:
        for out in outputs:
            self.edges.add(ColumnRef(target, out.name or STAR), out.sources)

    # ---------------------------------------------------------------------------------- queries

    def with_env(self, node: exp.Expression, env: dict[str, _Cte]) -> dict[str, _Cte]:
        with_ = node.args.get("with_")
        if not isinstance(with_, exp.With):
            return env
        recursive = bool(with_.args.get("recursive"))
        scoped = dict(env)
        entries = []
        for cte in _items(with_):
            alias = cte.args.get("alias")
            if not isinstance(alias, exp.TableAlias) or alias.this is None:
                continue
            columns = [self.names.ident(c) for c in alias.args.get("columns") or ()]
            entry = _Cte(cte, None if recursive else dict(scoped), columns)
            entries.append(entry)
            scoped[self.names.ident(alias.this)] = entry
        if recursive:
            for entry in entries:
                entry.env = scoped
        return scoped

    def cte_outputs(self, entry: _Cte) -> list[_Out]:
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
            outputs = _rename(outputs, entry.columns)
        self._cte_outputs[key] = outputs
        return outputs

    def outputs(
        self,
        node: exp.Expression,
        env: dict[str, _Cte],
        outer: _Scope | None,
        relation: exp.Expression | None = None,
    ) -> list[_Out]:
        if isinstance(node, exp.Select):
            return self.select(node, self.with_env(node, env), outer, relation)
        if isinstance(node, exp.Subquery):
            inner = node.this
            if isinstance(inner, (exp.Query, exp.Values)):
                return self.outputs(inner, self.with_env(node, env), outer)
            return []
        if isinstance(node, exp.SetOperation):
            env = self.with_env(node, env)
            left = self.outputs(node.this, env, outer)
            right = self.outputs(node.expression, env, outer)
            return _combine(left, right, by_name=bool(node.args.get("by_name")))
        if isinstance(node, exp.Values):
            return self.values(node, outer or _Scope(None), env)
        # Anything else that yields rows (a DuckDB PIVOT statement, a DML with RETURNING, ...):
        # columns unknown, each derived from the tables it reads.
        refs = frozenset(
            ColumnRef(ref, STAR) for ref in (table_ref(self.names, t) for t in node.find_all(exp.Table)) if ref
        )
        return [_Out(None, refs, tuple(sorted(refs)))]

    def select(
        self,
        select: exp.Select,
        env: dict[str, _Cte],
        outer: _Scope | None,
        relation: exp.Expression | None = None,
    ) -> list[_Out]:
        scope = _Scope(outer)
        from_ = select.args.get("from_")
        if isinstance(from_, exp.From):
            self.add_relation(scope, from_.this, env)
        elif relation is not None:
            self.add_relation(scope, relation, env)
        for join in select.args.get("joins") or ():
            if isinstance(join, exp.Join):
                self.add_relation(scope, join.this, env)
                for column in join.args.get("using") or ():
                    scope.using.add(self.names.ident(column.this if isinstance(column, exp.Column) else column))
        for lateral in select.args.get("laterals") or ():
            self.add_relation(scope, lateral, env)
        outputs: list[_Out] = []
        for position, projection in enumerate(_items(select)):
            outputs.extend(self.projection(scope, projection, position, env))
        return outputs

    def values(self, values: exp.Values, scope: _Scope, env: dict[str, _Cte]) -> list[_Out]:
        sources: list[set[ColumnRef]] = []
        for row in _items(values):
            items = _items(row) if isinstance(row, exp.Tuple) else [row]
            for position, item in enumerate(items):
                if position == len(sources):
                    sources.append(set())
                sources[position].update(self.sources_of(scope, item, env))
        alias = values.args.get("alias")
        names = [self.names.ident(c) for c in alias.args.get("columns") or ()] if isinstance(alias, exp.TableAlias) else []
        return [
            _Out(names[i] if i < len(names) else f"_col_{i}", frozenset(found)) for i, found in enumerate(sources)
        ]

    def add_relation(self, scope: _Scope, relation: exp.Expression, env: dict[str, _Cte]) -> None:
        """Register one FROM / JOIN / LATERAL relation (and the joins nested in it) in `scope`."""
        if isinstance(relation, exp.Final):
            relation = relation.this
        alias = relation.args.get("alias")
        alias_key = self.names.ident(alias.this) if isinstance(alias, exp.TableAlias) and alias.this else None
        alias_columns = (
            [self.names.ident(c) for c in alias.args.get("columns") or ()] if isinstance(alias, exp.TableAlias) else []
        )
        source: _Source
        key = alias_key
        if isinstance(relation, exp.Table):
            ident = relation.this
            if isinstance(ident, exp.Identifier):
                key = alias_key or self.names.ident(ident)
                cte = None
                if not relation.args.get("db") and not relation.args.get("catalog"):
                    cte = env.get(self.names.table_part(ident))
                if cte is not None:
                    source = _Source("derived", outputs=_rename(self.cte_outputs(cte), alias_columns))
                else:
                    ref = table_ref(self.names, relation)
                    source = _Source("table", table=ref) if ref else _Source("func", names=alias_columns or None)
            else:
                # A table function: FROM generate_series(...), TABLE(FLATTEN(...)), STREAM(t). Its
                # rows derive from the columns, and the whole tables, its arguments reference.
                deps = self.sources_of(scope, ident, env) | self.whole_tables(ident)
                source = _Source("func", deps=deps, names=alias_columns or None)
            pivots = relation.args.get("pivots")
            if pivots:
                self.apply_pivots(source, pivots, scope, env)
            scope.add(source, key, alias=alias_key is not None)
            for join in relation.args.get("joins") or ():
                if isinstance(join, exp.Join):
                    self.add_relation(scope, join.this, env)
            return
        if isinstance(relation, exp.Subquery):
            inner = relation.this
            if isinstance(inner, exp.Table) and not alias_key:
                # A parenthesised join: its tables are sources of this scope.
                self.add_relation(scope, inner, env)
                for join in relation.args.get("joins") or ():
                    if isinstance(join, exp.Join):
                        self.add_relation(scope, join.this, env)
                return
            lateral = isinstance(relation.parent, exp.Lateral)
            outputs = self.outputs(relation, env, scope if lateral else scope.parent)
            source = _Source("derived", outputs=_rename(outputs, alias_columns))
            pivots = relation.args.get("pivots")
            if pivots:
                self.apply_pivots(source, pivots, scope, env)
            scope.add(source, key)
            for join in relation.args.get("joins") or ():
                if isinstance(join, exp.Join):
                    self.add_relation(scope, join.this, env)
            return
        if isinstance(relation, exp.Lateral):
            inner = relation.this
            if isinstance(inner, (exp.Subquery, exp.Query)):
                outputs = self.outputs(inner, env, scope)
                scope.add(_Source("derived", outputs=_rename(outputs, alias_columns)), key)
            else:
                scope.add(_Source("func", deps=self.sources_of(scope, inner, env), names=alias_columns or None), key)
            return
        if isinstance(relation, exp.Values):
            scope.add(_Source("derived", outputs=_rename(self.values(relation, scope, env), alias_columns)), key)
            return
        # UNNEST and other table-valued expressions: every column derives from their arguments.
        deps = self.sources_of(scope, relation, env) | self.whole_tables(relation)
        names = list(alias_columns)
        offset = relation.args.get("offset") if isinstance(relation, exp.Unnest) else None
        offset_name = self.names.ident(offset) if isinstance(offset, exp.Identifier) else None
        source = _Source("func", deps=deps, names=names or None)
        scope.add(source, key)
        if offset_name:
            scope.add(_Source("derived", outputs=[_Out(offset_name, _EMPTY)]), None)

    def whole_tables(self, node: exp.Expression) -> frozenset[ColumnRef]:
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

    def apply_pivots(self, source: _Source, pivots: list[exp.Expression], scope: _Scope, env: dict[str, _Cte]) -> None:
        """PIVOT / UNPIVOT on a relation: named pivot outputs derive from the pivoted columns."""
        outputs: dict[str, frozenset[ColumnRef]] = {}
        consumed: set[str] = set()
        lookup = _Scope(None)
        lookup.add(source, None)
        for pivot in pivots:
            if not isinstance(pivot, exp.Pivot):
                continue
            if pivot.args.get("unpivot"):
                value_names = [self.names.ident(e.this if isinstance(e, exp.Column) else e) for e in _items(pivot)]
                for field in pivot.args.get("fields") or ():
                    if isinstance(field, exp.In):
                        if isinstance(field.this, exp.Column):
                            outputs[self.names.ident(field.this.this)] = _EMPTY
                        unpivoted: set[ColumnRef] = set()
                        for item in _items(field):
                            for column in item.find_all(exp.Column):
                                name = self.names.ident(column.this)
                                consumed.add(name)
                                unpivoted.update(self.source_column(source, name))
                        for value_name in value_names:
                            outputs[value_name] = frozenset(unpivoted)
            else:
                used: set[ColumnRef] = set()
                for node in [*_items(pivot), *(pivot.args.get("fields") or ())]:
                    for column in node.find_all(exp.Column):
                        name = self.names.ident(column.this)
                        consumed.add(name)
                        used.update(self.source_column(source, name))
                for column in pivot.args.get("columns") or ():
                    outputs[self.names.ident(column)] = frozenset(used)
        source.pivot = (outputs, frozenset(consumed))

    # ------------------------------------------------------------------------------ projections

    def projection(self, scope: _Scope, projection: exp.Expression, position: int, env: dict[str, _Cte]) -> list[_Out]:
        if isinstance(projection, exp.Star):
            return self.star(scope, scope.sources, projection, env)
        if isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star):
            qualifier = self.names.ident(projection.args.get("table"))
            source = scope.lookup(qualifier) if qualifier else None
            if source is not None:
                return self.star(scope, [source], projection.this, env)
            # `struct_column.*`: the struct's fields, unknown here.
            return [_Out(None, self.unqualified(scope, qualifier))]
        if isinstance(projection, exp.Alias):
            alias = projection.args.get("alias")
            name = self.names.ident(alias) if alias is not None and alias.name else f"_col_{position}"
            return [_Out(name, self.sources_of(scope, projection.this, env))]
        if isinstance(projection, exp.Column):
            name = self.names.ident(projection.this)
        elif isinstance(projection, exp.Dot) and isinstance(projection.expression, exp.Identifier):
            name = self.names.ident(projection.expression)
        else:
            name = f"_col_{position}"
        return [_Out(name, self.sources_of(scope, projection, env))]

    def star(self, scope: _Scope, sources: list[_Source], star: exp.Star, env: dict[str, _Cte]) -> list[_Out]:
        excluded = {self.names.ident(c.this if isinstance(c, exp.Column) else c) for c in star.args.get("except_") or ()}
        replaced = {
            self.names.ident(a.args["alias"]): self.sources_of(scope, a.this, env)
            for a in star.args.get("replace") or ()
            if isinstance(a, exp.Alias) and a.args.get("alias") is not None
        }
        renamed = {
            self.names.ident(a.this.this if isinstance(a.this, exp.Column) else a.this): self.names.ident(a.args["alias"])
            for a in star.args.get("rename") or ()
            if isinstance(a, exp.Alias) and a.args.get("alias") is not None
        }
        outputs: list[_Out] = []
        for source in sources:
            outputs.extend(self.source_star(source, excluded, replaced, renamed))
        return outputs

    def source_star(
        self,
        source: _Source,
        excluded: set[str],
        replaced: dict[str, frozenset[ColumnRef]],
        renamed: dict[str, str],
    ) -> list[_Out]:
        """The output columns `*` gives for one source, after EXCEPT / REPLACE / RENAME."""
        if source.kind == "func":
            if source.names is not None:
                return [_Out(name, source.deps) for name in source.names if name not in excluded]
            return [_Out(None, source.deps, tuple(sorted(ref for ref in source.deps if ref.is_star)))]
        pivot_outputs: list[_Out] = []
        consumed: frozenset[str] = frozenset()
        if source.pivot is not None:
            named, consumed = source.pivot
            pivot_outputs = [_Out(name, sources) for name, sources in named.items() if name not in excluded]
        if source.kind == "table":
            assert source.table is not None
            base = ColumnRef(source.table, STAR)
            outputs = [self._star_out(_Out(None, frozenset((base,)), (base,)), excluded | consumed, replaced, renamed)]
            outputs.extend(self._replaced_outputs(source, replaced, renamed, set()))
            return outputs + pivot_outputs
        outputs = []
        seen: set[str] = set()
        for out in source.outputs:
            if out.name is None:
                outputs.append(self._star_out(out, excluded | consumed, replaced, renamed))
                continue
            if out.name in excluded or out.name in consumed:
                continue
            seen.add(out.name)
            if out.name in replaced:
                outputs.append(_Out(out.name, replaced[out.name], listed=out.listed))
            elif out.name in renamed:
                outputs.append(_Out(renamed[out.name], out.sources, listed=out.listed))
            else:
                outputs.append(out)
        if source.stars():
            outputs.extend(self._replaced_outputs(source, replaced, renamed, seen))
        return outputs + pivot_outputs

    def _star_out(self, out: _Out, excluded: set[str], replaced: dict[str, frozenset[ColumnRef]], renamed: dict[str, str]) -> _Out:
        if not (excluded or replaced or renamed):
            return out
        edge_excluded = excluded | set(replaced) | set(renamed)
        defined_excluded = excluded | set(renamed)
        return _Out(
            None,
            frozenset(_exclude(ref, edge_excluded) for ref in out.sources),
            tuple(_exclude(ref, defined_excluded) for ref in out.defined),
            out.listed,
        )

    def _replaced_outputs(
        self, source: _Source, replaced: dict[str, frozenset[ColumnRef]], renamed: dict[str, str], seen: set[str]
    ) -> list[_Out]:
        outputs = [_Out(name, sources, listed=False) for name, sources in replaced.items() if name not in seen]
        outputs.extend(
            _Out(new, self.source_column(source, old)) for old, new in renamed.items() if old not in seen
        )
        return outputs

    # ----------------------------------------------------------------------------------- columns

    def sources_of(self, scope: _Scope, expression: exp.Expression | None, env: dict[str, _Cte]) -> frozenset[ColumnRef]:
        """Every source column an expression's value is computed from (nested queries included)."""
        if expression is None:
            return _EMPTY
        if type(expression) is exp.Column:
            return self.column(scope, expression)
        if isinstance(expression, _LEAF_TYPES):
            return _EMPTY
        found: set[ColumnRef] = set()
        nodes = list(expression.find_all(exp.Column, exp.Query))
        queries = [node for node in nodes if isinstance(node, exp.Query)]
        nested: set[int] = set()
        for query in queries:
            # Columns of a nested query belong to its own scope; it contributes its outputs.
            nested.update(id(node) for node in query.find_all(exp.Column, exp.Query) if node is not query)
        for node in nodes:
            if id(node) in nested:
                continue
            if type(node) is exp.Column:
                found.update(self.column(scope, node))
            elif isinstance(node, exp.Query):
                for out in self.outputs(node, env, scope):
                    found.update(out.sources)
            elif isinstance(node, exp.Column):
                found.update(self.column(scope, node))
        return frozenset(found)

    def column(self, scope: _Scope, column: exp.Column) -> frozenset[ColumnRef]:
        names = self.names
        args = column.args
        this = args.get("this")
        if isinstance(this, exp.Star):
            qualifier = names.ident(args.get("table"))
            source = scope.lookup(qualifier) if qualifier else None
            return self.row(source) if source is not None else _EMPTY
        qualifier_node = args.get("table")
        if qualifier_node is None:
            return self.unqualified(scope, names.ident(this))
        if args.get("db") is None:
            qualifier = names.ident(qualifier_node)
            source = scope.lookup(qualifier)
            if source is not None:
                return self.source_column(source, names.ident(this))
            return self.unqualified(scope, qualifier)
        parts = column.parts
        if len(parts) == 1:
            return self.unqualified(scope, names.ident(column.this))
        first = names.ident(parts[0])
        source = scope.lookup(first)
        if source is not None:
            return self.source_column(source, names.ident(parts[1]))
        if len(parts) > 2:
            source = scope.lookup(names.ident(column.args.get("table")))
            if source is not None:
                return self.source_column(source, names.ident(column.this))
        # `struct_column.field`: the field comes from the struct column.
        return self.unqualified(scope, first)

    def unqualified(self, scope: _Scope | None, name: str) -> frozenset[ColumnRef]:
        while scope is not None:
            sources = scope.sources
            known = [s for s in sources if s.knows(name)]
            if known and name in scope.using:
                known.extend(s for s in sources if s not in known and s.may_have(name))
            if known:
                return _union(self.source_column(s, name) for s in known)
            row = scope.keys.get(name)
            if row is not None:
                return self.row(row)
            candidates = [s for s in sources if s.may_have(name)]
            if candidates:
                return _union(self.source_column(s, name) for s in candidates)
            scope = scope.parent
        return _EMPTY

    def source_column(self, source: _Source, name: str) -> frozenset[ColumnRef]:
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
                return frozenset(ColumnRef(ref.table, name) if ref.is_star else ref for ref in source.deps)
            return source.deps
        named = source.named().get(name)
        if named is not None:
            return named
        found: set[ColumnRef] = set()
        for out in source.stars():
            for ref in out.sources:
                if not ref.is_star:
                    found.add(ref)
                elif name not in ref.excluded:
                    found.add(ColumnRef(ref.table, name))
        return frozenset(found)

    def row(self, source: _Source) -> frozenset[ColumnRef]:
        """A whole-row reference (`TO_JSON_STRING(t)`, `ARRAY_AGG(t)`): every column of the source."""
        if source.kind == "table":
            assert source.table is not None
            return frozenset((ColumnRef(source.table, STAR),))
        if source.kind == "func":
            return source.deps
        return _union(out.sources for out in source.outputs)

    def _relation_key(self, table: exp.Table) -> str:
        alias = table.args.get("alias")
        if isinstance(alias, exp.TableAlias) and alias.this:
            return self.names.ident(alias.this)
        return self.names.ident(table.this)


def _items(node: exp.Expression) -> list[exp.Expression]:
    """A node's `expressions` as a list, also when a dialect's parser put a single node there."""
    items = node.args.get("expressions")
    if items is None:
        return []
    return items if isinstance(items, list) else [items]


def _union(groups: Iterable[frozenset[ColumnRef]]) -> frozenset[ColumnRef]:
    result: set[ColumnRef] = set()
    for group in groups:
        result.update(group)
    return frozenset(result)


def _exclude(ref: ColumnRef, names: set[str]) -> ColumnRef:
    if not ref.is_star or not names:
        return ref
    return ColumnRef(ref.table, STAR, tuple(sorted(set(ref.excluded) | names)))


def _rename(outputs: list[_Out], names: list[str]) -> list[_Out]:
    """Positional column aliases (`AS d(x, y)`, `CTE c(x, y)`, a view's column list)."""
    if not names:
        return outputs
    renamed = []
    for position, out in enumerate(outputs):
        if position >= len(names) or out.name is None:
            renamed.extend(outputs[position:])
            break
        renamed.append(_Out(names[position], out.sources, listed=out.listed))
    else:
        # More names than outputs: the remaining names are columns of unknown origin.
        renamed.extend(_Out(name, _EMPTY) for name in names[len(outputs) :])
    return renamed


def _combine(left: list[_Out], right: list[_Out], by_name: bool) -> list[_Out]:
    """Columns of a set operation: the left branch's names, sources of both branches."""
    if by_name:
        right_named = {out.name: out.sources for out in right if out.name is not None}
        right_stars = _union(out.sources for out in right if out.name is None)
        combined = [
            _Out(out.name, out.sources | right_named.get(out.name, right_stars) if out.name else out.sources | right_stars, out.defined, out.listed)
            for out in left
        ]
        left_names = {out.name for out in left}
        combined.extend(out for out in right if out.name is not None and out.name not in left_names)
        return combined
    combined = []
    for position, out in enumerate(left):
        if position >= len(right):
            combined.append(out)
            continue
        other = right[position]
        if (out.name is None) != (other.name is None):
            # The branches' widths cannot be aligned past a star: each remaining column of the
            # left branch may come from any remaining column of the right one.
            rest = _union(o.sources for o in right[position:])
            combined.extend(_Out(o.name, o.sources | rest, o.defined, o.listed) for o in left[position:])
            return combined
        combined.append(_Out(out.name, out.sources | other.sources, out.defined, out.listed))
    return combined


def _by_position(columns: list[str], outputs: list[_Out]) -> list[tuple[str, frozenset[ColumnRef]]]:
    """Map an INSERT column list onto the query's outputs; a star covers the columns between the
    outputs before it and those after it."""
    stars = [i for i, out in enumerate(outputs) if out.name is None]
    if not stars:
        return [(column, out.sources) for column, out in zip(columns, outputs)]
    first, last = stars[0], stars[-1]
    head = [(column, out.sources) for column, out in zip(columns, outputs[:first])]
    tail_outputs = outputs[last + 1 :]
    tail_start = max(len(columns) - len(tail_outputs), first)
    tail = [(column, out.sources) for column, out in zip(columns[tail_start:], tail_outputs)]
    middle = _union(out.sources for out in outputs[first : last + 1])
    return [*head, *((column, middle) for column in columns[first:tail_start]), *tail]
