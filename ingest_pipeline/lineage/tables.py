"""Which Table nodes of a parsed statement are written, which are read, which are neither.

* targets are the tables a statement writes: the INSERT / UPDATE / DELETE / MERGE target wherever
  such a statement sits (data-modifying CTEs and multi-table inserts included), the created or
  altered table, the SELECT INTO / COPY FROM target. An UPDATE / DELETE target named by an alias
  (`UPDATE a ... FROM t AS a`, `DELETE a FROM t AS a`) or repeated in its own FROM clause is the
  aliased table, and that FROM instance is the target, not a read;
* every other real table is read, except CTE references (CTE names compared after the dialect's
  normalisation, all CTEs of a RECURSIVE list in scope) and foreign-key `REFERENCES`;
* a Table node that is a path, URI or stage (`parquet.`/data``, `@stage/x`) is a location.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlglot import exp

from ingest_pipeline.lineage.context import Context, items
from ingest_pipeline.lineage.locations import table_location
from ingest_pipeline.lineage.model import StatementLineage, TableRef
from ingest_pipeline.lineage.names import table_ref


def collect(
    context: Context,
    expression: exp.Expression,
    statement: StatementLineage,
    targets: Iterable[exp.Table] = (),
    skip: Iterable[exp.Table] = (),
) -> None:
    """Fill reads / writes / locations of `statement` from every Table node of `expression`."""
    names = context.names
    written: list[exp.Table] = list(targets)
    target_ids = {id(t) for t in written}
    skipped = {id(t) for t in skip}
    reads: set[TableRef] = set()
    location_reads: set[str] = set()
    for node in expression.find_all(exp.Table, exp.DML, exp.Reference):
        if isinstance(node, exp.Table):
            node_id = id(node)
            if node_id in target_ids or node_id in skipped or is_cte_reference(context, node):
                continue
            location = table_location(context, node)
            if location is not None:
                location_reads.add(location)
                continue
            ref = table_ref(names, node)
            if ref:
                reads.add(ref)
        elif isinstance(node, exp.Reference):
            # A foreign key's parent table is part of the definition, not a source of rows.
            skipped.update(id(t) for t in node.find_all(exp.Table))
        elif not isinstance(node, exp.Copy):
            for target, instances in dml_targets(context, node):
                written.append(target)
                target_ids.update(id(t) for t in instances)
    write(context, statement, written)
    statement.reads = sorted(reads | set(statement.reads))
    statement.location_reads = sorted(location_reads | set(statement.location_reads))


def write(context: Context, statement: StatementLineage, tables: Iterable[exp.Table]) -> None:
    """Add written tables (locations among them to location_writes)."""
    writes, locations = set(statement.writes), set(statement.location_writes)
    for table in tables:
        location = table_location(context, table)
        if location is not None:
            locations.add(location)
            continue
        ref = table_ref(context.names, table)
        if ref:
            writes.add(ref)
    statement.writes = sorted(writes)
    statement.location_writes = sorted(locations)


def refs(context: Context, tables: Iterable[exp.Table]) -> list[TableRef]:
    return sorted({ref for ref in (table_ref(context.names, t) for t in tables) if ref})


def dml_targets(context: Context, node: exp.Expression) -> list[tuple[exp.Table, list[exp.Table]]]:
    """(target table, Table nodes that are instances of it) for one INSERT/UPDATE/DELETE/MERGE node."""
    if isinstance(node, (exp.Insert, exp.Merge)):
        return [(t, [t]) for t in tables_of(node.this)]
    if isinstance(node, exp.Update):
        return _update_targets(context, node)
    if isinstance(node, exp.Delete):
        clause = clause_tables(node.this) + [t for u in node.args.get("using") or () for t in clause_tables(u)]
        named = [t for t in node.args.get("tables") or () if isinstance(t, exp.Table)]
        if not named:
            return [(t, [t]) for t in tables_of(node.this)]
        return [_resolve_target(context, t, clause) for t in named]
    return []


def _update_targets(context: Context, node: exp.Update) -> list[tuple[exp.Table, list[exp.Table]]]:
    this = node.this
    if not isinstance(this, exp.Table):
        return []
    from_ = node.args.get("from_")
    from_tables = clause_tables(from_.this) if isinstance(from_, exp.From) else []
    joined = clause_tables(this)
    if len(joined) > 1:
        # MySQL multi-table UPDATE: the written tables are those whose columns are SET.
        qualifiers = {
            context.names.ident(eq.this.args.get("table"))
            for eq in items(node)
            if isinstance(eq, exp.EQ) and isinstance(eq.this, exp.Column) and eq.this.args.get("table")
        }
        chosen = [t for t in joined if _source_name(context, t) in qualifiers]
        return [(t, [t]) for t in chosen or [this]]
    return [_resolve_target(context, this, from_tables)]


def _resolve_target(context: Context, target: exp.Table, clause: list[exp.Table]) -> tuple[exp.Table, list[exp.Table]]:
    """Resolve an UPDATE/DELETE target against the statement's FROM clause.

    An unqualified target naming a FROM-clause alias is that aliased table; a FROM-clause table
    with the target's own name and no alias is the target itself (T-SQL, MySQL). Either way that
    FROM instance is the target and not a read.
    """
    others = [t for t in clause if t is not target]
    if not target.args.get("db") and not target.args.get("catalog"):
        name = context.names.table_part(target.this) if isinstance(target.this, exp.Identifier) else target.name
        for table in others:
            alias = table.args.get("alias")
            if isinstance(alias, exp.TableAlias) and alias.this and context.names.ident(alias.this) == name:
                return table, [target, table]
    ref = table_ref(context.names, target)
    same = [t for t in others if not t.alias and ref is not None and table_ref(context.names, t) == ref]
    return target, [target, *same]


def clause_tables(node: exp.Expression | None) -> list[exp.Table]:
    """The tables of a FROM-like clause (a table and its joins), without descending into subqueries."""
    tables: list[exp.Table] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, exp.Join):
            current = current.this
        if isinstance(current, exp.Table):
            tables.append(current)
            stack.extend(reversed(current.args.get("joins") or ()))
    return tables


def _source_name(context: Context, table: exp.Table) -> str:
    alias = table.args.get("alias")
    if isinstance(alias, exp.TableAlias) and alias.this:
        return context.names.ident(alias.this)
    return context.names.ident(table.this)


def tables_of(node: exp.Expression | None) -> list[exp.Table]:
    if isinstance(node, exp.Schema):
        node = node.this
    return [node] if isinstance(node, exp.Table) else []


def select_into(expression: exp.Expression) -> exp.Into | None:
    """The INTO clause of a SELECT INTO, also when it sits on the first branch of a set operation."""
    node = expression
    while isinstance(node, (exp.SetOperation, exp.Subquery)):
        node = node.this
    if isinstance(node, exp.Select):
        into = node.args.get("into")
        if isinstance(into, exp.Into):
            return into
    return None


def is_cte_reference(context: Context, table: exp.Table) -> bool:
    """True when an unqualified table name refers to a CTE visible at its position.

    Names are compared after the dialect's normalisation; inside a non-recursive WITH a CTE sees
    the CTEs before it, inside a RECURSIVE one every CTE of the list.
    """
    if table.args.get("db") or table.args.get("catalog") or not isinstance(table.this, exp.Identifier):
        return False
    name: str | None = None
    child: exp.Expression = table
    parent = table.parent
    while parent is not None:
        with_ = parent.args.get("with_")
        if isinstance(with_, exp.With) and child is not with_:
            if name is None:
                name = context.names.table_part(table.this)
            if name in context.cte_names(with_):
                return True
        if isinstance(parent, exp.With):
            ctes = items(parent)
            position = next((i for i, cte in enumerate(ctes) if cte is child), None)
            if position is not None:
                if name is None:
                    name = context.names.table_part(table.this)
                cte_names = context.cte_names(parent)
                visible = cte_names if parent.args.get("recursive") else cte_names[:position]
                if name in visible:
                    return True
        child, parent = parent, parent.parent
    return False
