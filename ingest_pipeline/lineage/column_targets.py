"""The columns a statement writes, one handler per kind of target, fed by the `Resolver`.

CREATE TABLE / CTAS / CREATE VIEW / SELECT INTO (the query's output names, or the statement's
column list by position), INSERT (column list by position; BY NAME by name; no list: positional,
see `StatementLineage.positional`), multi-table INSERT, MERGE (UPDATE SET, INSERT (cols) VALUES,
INSERT ROW / INSERT * / UPDATE SET *) and UPDATE SET.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlglot import exp

from ingest_pipeline.lineage.column_resolve import Resolver
from ingest_pipeline.lineage.column_scope import Cte, Out, Ref, Scope, Source, by_position, items, rename
from ingest_pipeline.lineage.column_stars import source_star
from ingest_pipeline.lineage.model import STAR, Choice, ColumnLineage, ColumnRef, TableRef
from ingest_pipeline.lineage.names import table_ref


class Edges:
    """Column edges in output order; a named target written twice gets one edge (sources merged)."""

    def __init__(self) -> None:
        self.rows: list[tuple[ColumnRef, set[Ref], int | None, int]] = []
        self.index: dict[tuple[ColumnRef, int], int] = {}

    def add(self, target: ColumnRef, sources: Iterable[Ref], position: int | None = None, branch: int = 0, merge: bool = True) -> None:
        if merge and not target.is_star:
            at = self.index.get((target, branch))
            if at is not None:
                self.rows[at][1].update(sources)
                return
            self.index[(target, branch)] = len(self.rows)
        elif merge:
            # Star targets pass columns through one star each; only an identical row is redundant.
            found = set(sources)
            if any(row[0] == target and row[1] == found and row[3] == branch for row in self.rows):
                return
            self.rows.append((target, found, position, branch))
            return
        self.rows.append((target, set(sources), position, branch))

    def result(self) -> list[ColumnLineage]:
        edges = []
        for target, sources, position, branch in self.rows:
            refs = sorted(ref for ref in sources if type(ref) is ColumnRef)
            choices = sorted(ref for ref in sources if type(ref) is Choice)
            edges.append(ColumnLineage(target, refs, choices, [], position, branch))  # type: ignore[arg-type]
        return edges


class Targets:
    """Writes the edges of one statement's targets."""

    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self.names = resolver.names
        self.edges = Edges()
        self.defined: list[ColumnRef] = []
        self.positional: list[TableRef] = []

    def _target(self, node: exp.Expression | None) -> TableRef | None:
        if isinstance(node, exp.Schema):
            node = node.this
        return table_ref(self.names, node) if isinstance(node, exp.Table) else None

    def _column_list(self, node: exp.Expression) -> list[str]:
        return [self.resolver.column_name(c.this if isinstance(c, exp.Column) else c) for c in items(node)]

    # -------------------------------------------------------------------------------- handlers

    def create(self, create: exp.Create) -> None:
        target = self._target(create.this)
        if target is None:
            return
        listed: list[str] = []
        likes: list[exp.Table] = []
        if isinstance(create.this, exp.Schema):
            for item in items(create.this):
                if isinstance(item, exp.ColumnDef):
                    listed.append(self.resolver.column_name(item.this))
                elif isinstance(item, exp.Identifier):
                    listed.append(self.resolver.column_name(item))
                elif isinstance(item, exp.LikeProperty) and isinstance(item.this, exp.Table):
                    likes.append(item.this)
        properties = create.args.get("properties")
        if isinstance(properties, exp.Properties):
            likes.extend(p.this for p in items(properties) if isinstance(p, exp.LikeProperty) and isinstance(p.this, exp.Table))
        query = create.expression
        if isinstance(query, exp.Query):
            outputs = rename(self.resolver.outputs(query, self.resolver.with_env(create, {}), None), listed)
            self.define(target, outputs, None if listed else query)
            for fed in self._fed_tables(create):
                self.write(fed, outputs, None)
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

    def _fed_tables(self, create: exp.Create) -> list[TableRef]:
        """The tables a ClickHouse materialized view inserts into (`TO t`)."""
        properties = create.args.get("properties")
        found = [self._target(p.this) for p in items(properties) if isinstance(p, exp.ToTableProperty)] if properties else []
        return [ref for ref in found if ref is not None]

    def select_into(self, expression: exp.Expression) -> None:
        node = expression
        while isinstance(node, (exp.SetOperation, exp.Subquery)):
            node = node.this
        into = node.args.get("into") if isinstance(node, exp.Select) else None
        target = self._target(into.this) if isinstance(into, exp.Into) else None
        if target is not None:
            self.define(target, self.resolver.outputs(expression, {}, None), expression)

    def insert(
        self,
        insert: exp.Insert,
        env: dict[str, Cte],
        shared: list[Out] | None = None,
        shared_scope: Scope | None = None,
        shared_relation: exp.Expression | None = None,
    ) -> None:
        """INSERT; `shared*` are the shared source of a multi-table insert."""
        target = self._target(insert.this)
        if target is None:
            return
        columns = self._column_list(insert.this) if isinstance(insert.this, exp.Schema) and items(insert.this) else None
        env = self.resolver.with_env(insert, env)
        source = insert.expression
        if isinstance(source, exp.Values):
            outputs = self.resolver.values(source, shared_scope or Scope(None), env)
        elif isinstance(source, exp.Query):
            outputs = self.resolver.outputs(source, env, None, shared_relation)
        elif source is None and shared is not None:
            outputs = shared
        else:
            return
        if insert.args.get("by_name"):
            for out in outputs:
                self.edges.add(ColumnRef(target, out.name or STAR), out.sources)
        elif columns is not None:
            for position, (column, sources) in enumerate(by_position(columns, outputs)):
                self.edges.add(ColumnRef(target, column), sources, position)
        else:
            self.write(target, outputs, source, merge=False)
            if outputs and target not in self.positional:
                self.positional.append(target)

    def multitable_insert(self, node: exp.MultitableInserts) -> None:
        env = self.resolver.with_env(node, {})
        source = node.args.get("source")
        scope = Scope(None)
        outputs: list[Out] = []
        relation = None
        if isinstance(source, exp.Query) and not isinstance(source, exp.Subquery):
            outputs = self.resolver.outputs(source, env, None)
            scope.add(Source("derived", outputs=outputs), None)
        elif source is not None:
            # Hive `FROM src INSERT ... SELECT ...`: each SELECT reads the shared FROM relation.
            relation = source
        for item in items(node):
            insert = item.this if isinstance(item, exp.ConditionalInsert) else item
            if isinstance(insert, exp.Insert):
                self.insert(insert, env, outputs, scope, relation)

    def merge(self, merge: exp.Merge) -> None:
        target_node = merge.this
        target = self._target(target_node)
        if target is None:
            return
        resolver = self.resolver
        env = resolver.with_env(merge, {})
        scope = Scope(None)
        target_source = Source("table", table=target)
        scope.add(target_source, _relation_key(self.names, target_node))
        before = len(scope.sources)
        using = merge.args.get("using")
        if using is not None:
            resolver.relations.add(scope, using, env)
        source = scope.sources[before] if len(scope.sources) > before else None
        # A NOT MATCHED clause sees only the side that has a row: the source (BY TARGET, the
        # default), or the target (BY SOURCE).
        unmatched = {False: scope.without(target_source), True: scope.without(source) if source is not None else scope}
        whens = merge.args.get("whens")
        for when in items(whens) if isinstance(whens, exp.Whens) else ():
            then = when.args.get("then")
            visible = scope if when.args.get("matched") else unmatched[bool(when.args.get("source"))]
            if isinstance(then, exp.Update):
                for item in items(then):
                    if isinstance(item, exp.Star) and source is not None:
                        self.pass_through(target, source_star(resolver, source))
                    elif isinstance(item, exp.EQ) and isinstance(item.this, exp.Column):
                        column = resolver.column_name(item.this.this)
                        self.edges.add(ColumnRef(target, column), resolver.sources_of(visible, item.expression, env))
            elif isinstance(then, exp.Insert):
                columns, values = then.this, then.expression
                if isinstance(columns, (exp.Tuple, exp.Schema)) and isinstance(values, exp.Tuple):
                    for column, value in zip(self._column_list(columns), items(values)):
                        self.edges.add(ColumnRef(target, column), resolver.sources_of(visible, value, env))
                elif source is not None and (isinstance(columns, exp.Star) or (columns is not None and columns.name.upper() == "ROW")):
                    self.pass_through(target, source_star(resolver, source))

    def update(self, update: exp.Update) -> None:
        resolver = self.resolver
        env = resolver.with_env(update, {})
        scope = Scope(None)
        from_ = update.args.get("from_")
        if isinstance(from_, exp.From):
            resolver.relations.add(scope, from_.this, env)
        for join in update.args.get("joins") or ():
            resolver.relations.add(scope, join.this, env)
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
            resolver.relations.add(scope, this, env)
            target_source = scope.sources[before] if len(scope.sources) > before else None
        if target_source is None or target_source.table is None:
            return
        target = target_source.table
        for item in items(update):
            if not isinstance(item, exp.EQ):
                continue
            if isinstance(item.this, exp.Column):
                self.edges.add(self._set_column(scope, target, item.this), resolver.sources_of(scope, item.expression, env))
            elif isinstance(item.this, exp.Tuple):
                # `SET (a, b) = (SELECT x, y ...)` or `= (x, y)`: by position.
                columns = [c for c in items(item.this) if isinstance(c, exp.Column)]
                value = item.expression
                if isinstance(value, exp.Tuple):
                    sources = [resolver.sources_of(scope, v, env) for v in items(value)]
                elif isinstance(value, exp.Query):
                    sources = [out.sources for out in resolver.outputs(value, env, scope)]
                else:
                    continue
                for column, found in zip(columns, sources):
                    self.edges.add(self._set_column(scope, target, column), found)

    def _set_column(self, scope: Scope, target: TableRef, column: exp.Column) -> ColumnRef:
        """The column an UPDATE's SET writes: of the target, or of the table its qualifier names."""
        qualifier = column.args.get("table")
        if qualifier is not None:
            named = scope.lookup(self.names.ident(qualifier))
            if named is not None and named.kind == "table" and named.table is not None:
                target = named.table
        return ColumnRef(target, self.resolver.column_name(column.this))

    # ---------------------------------------------------------------------------------- output

    def define(self, target: TableRef, outputs: list[Out], query: exp.Expression | None) -> None:
        """Edges and defined columns of a table a query defines (CTAS, view, SELECT INTO)."""
        self.write(target, outputs, query)
        seen: set[ColumnRef] = set()
        for out in outputs:
            if not out.listed:
                continue
            for ref in (out.defined or (ColumnRef(target, STAR),)) if out.name is None else (ColumnRef(target, out.name),):
                if ref not in seen:
                    seen.add(ref)
                    self.defined.append(ref)

    def write(self, target: TableRef, outputs: list[Out], query: exp.Expression | None, merge: bool = True) -> None:
        """Edges from a query's outputs to the target's columns of the same names and positions;
        a set operation whose branches have stars writes each branch, to be aligned by position."""
        branches = self.resolver.branches(query) if query is not None else None
        for branch, outs in enumerate(branches or [outputs]):
            position: int | None = 0
            for out in outs:
                if out.name is None:
                    self.edges.add(ColumnRef(target, STAR), out.sources, position, branch, merge)
                    position = None
                    continue
                self.edges.add(ColumnRef(target, out.name), out.sources, position if out.listed else None, branch, merge)
                if position is not None and out.listed:
                    position += 1

    def pass_through(self, target: TableRef, outputs: list[Out]) -> None:
        for out in outputs:
            self.edges.add(ColumnRef(target, out.name or STAR), out.sources)


def _relation_key(names, table: exp.Table) -> str:
    alias = table.args.get("alias")
    if isinstance(alias, exp.TableAlias) and alias.this:
        return names.ident(alias.this)
    return names.ident(table.this)
