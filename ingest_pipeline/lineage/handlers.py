"""Parsed statement -> its lineage: one small handler per kind of statement, found by node type.

`lineage` looks the statement's sqlglot class (or its nearest registered base class) up in a
registry; a class nobody registered gives a statement of that class's name with no lineage
(GRANT, USE, ...). Handlers for data movement to and from locations live in `movement`, those
for generic `Command` nodes in `commands`.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from ingest_pipeline.lineage import tables
from ingest_pipeline.lineage.context import Context, items
from ingest_pipeline.lineage.locations import option_locations, property_location
from ingest_pipeline.lineage.model import StatementLineage, TableRef
from ingest_pipeline.lineage.names import table_ref

# (context, expression, statement to fill, inside a procedural body) -> None
Handler = Callable[[Context, exp.Expression, StatementLineage, bool], None]
_HANDLERS: dict[type, Handler] = {}

# Options of a CREATE TABLE that name the files the table is stored in.
_LOCATION_OPTIONS = ("external_location", "path", "uris", "uri")

# Vendor functions that move rows between tables named by string arguments:
# name -> (position of the source argument, position of the target argument).
_MOVING_FUNCTIONS = {
    "swap_partitions_between_tables": (0, 3),  # Vertica: staging -> target
    "move_partitions_to_table": (0, 3),
    "copy_partitions_to_table": (0, 3),
    "copy_table": (0, 1),
}


def handles(*types: type) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for node_type in types:
            _HANDLERS[node_type] = handler
        return handler

    return register


def lineage(context: Context, expression: exp.Expression, line: int, procedural: bool = False) -> StatementLineage:
    """The lineage of one parsed statement (index 0; the caller numbers statements)."""
    statement = StatementLineage(0, type(expression).__name__.upper(), line)
    for node_type in type(expression).__mro__:
        handler = _HANDLERS.get(node_type)
        if handler is not None:
            handler(context, expression, statement, procedural)
            break
    return statement


@handles(exp.Select, exp.SetOperation, exp.Subquery, exp.Values, exp.Pivot)
def _query(context: Context, expression: exp.Expression, statement: StatementLineage, procedural: bool) -> None:
    into = tables.select_into(expression)
    statement.kind = "SELECT"
    if into is None:
        tables.collect(context, expression, statement)
        _moving_functions(context, expression, statement)
        return
    targets = tables.tables_of(into.this)
    if procedural and context.family != "tsql":
        # PL/SQL, PL/pgSQL, Snowflake scripting: SELECT ... INTO assigns variables.
        tables.collect(context, expression, statement, skip=into.find_all(exp.Table))
        return
    statement.kind = "SELECT_INTO"
    tables.collect(context, expression, statement, targets=targets)
    if into.args.get("temporary"):
        context.temporary.update(tables.refs(context, targets))


def _moving_functions(context: Context, expression: exp.Expression, statement: StatementLineage) -> None:
    """`SELECT swap_partitions_between_tables('staging', ..., 'target')` and its kin move rows."""
    if not isinstance(expression, exp.Select) or expression.args.get("from_"):
        return
    for projection in expression.expressions:
        call = projection.this if isinstance(projection, exp.Alias) else projection
        if not isinstance(call, exp.Anonymous):
            continue
        positions = _MOVING_FUNCTIONS.get(call.name.lower())
        arguments = call.expressions
        if positions is None or len(arguments) <= max(positions):
            continue
        source, target = (_literal_name(context, arguments[i]) for i in positions)
        if source and target:
            statement.reads = sorted(set(statement.reads) | {source})
            statement.writes = sorted(set(statement.writes) | {target})


def _literal_name(context: Context, node: exp.Expression) -> TableRef | None:
    return context.name_from_text(node.name) if isinstance(node, exp.Literal) and node.is_string else None


@handles(exp.Insert, exp.MultitableInserts)
def _insert(context: Context, expression: exp.Expression, statement: StatementLineage, procedural: bool) -> None:
    statement.kind = "INSERT"
    tables.collect(context, expression, statement)
    directory = expression.this if isinstance(expression, exp.Insert) else None
    if isinstance(directory, exp.Directory) and isinstance(directory.this, exp.Literal):
        statement.location_writes = sorted(set(statement.location_writes) | {directory.this.name})


@handles(exp.Merge, exp.Update, exp.Delete)
def _dml(context: Context, expression: exp.Expression, statement: StatementLineage, procedural: bool) -> None:
    statement.kind = type(expression).__name__.upper()
    tables.collect(context, expression, statement)


@handles(exp.TruncateTable)
def _truncate(context: Context, expression: exp.Expression, statement: StatementLineage, procedural: bool) -> None:
    statement.kind = "TRUNCATE"
    statement.writes = tables.refs(context, (t for t in items(expression) if isinstance(t, exp.Table)))


@handles(exp.Drop)
def _drop(context: Context, expression: exp.Expression, statement: StatementLineage, procedural: bool) -> None:
    kind = (expression.args.get("kind") or "").upper()
    statement.kind = f"DROP_{kind}" if kind else "DROP"


@handles(exp.Create)
def _create(context: Context, expression: exp.Expression, statement: StatementLineage, procedural: bool) -> None:
    """CREATE TABLE / VIEW write the created object and read their query, their LIKE / CLONE
    source and (for an external table over existing files) their LOCATION."""
    kind = (expression.args.get("kind") or "").upper()
    created = tables.tables_of(expression.this)
    statement.kind = f"CREATE_{kind or 'OTHER'}"
    if kind in ("FUNCTION", "PROCEDURE"):
        this = expression.this.this if isinstance(expression.this, exp.UserDefinedFunction) else expression.this
        if isinstance(this, exp.Table) and not _has_property(expression, exp.TemporaryProperty):
            statement.defines_routine = table_ref(context.names, this)
        return
    if kind not in ("TABLE", "VIEW"):
        return
    # ClickHouse `CREATE MATERIALIZED VIEW mv TO t AS SELECT ...`: the view feeds t its rows.
    fed = [p.this for p in _properties(expression) if isinstance(p, exp.ToTableProperty) and isinstance(p.this, exp.Table)]
    tables.collect(context, expression, statement, targets=created + fed)
    if kind == "VIEW":
        statement.views = tables.refs(context, created)
    properties = expression.args.get("properties")
    if isinstance(properties, exp.Properties):
        uris = [property_location(context, p.this) for p in properties.expressions if isinstance(p, exp.LocationProperty)]
        # Athena `WITH (external_location = ...)`, Spark `OPTIONS (path ...)`, BigQuery `OPTIONS (uris = [...])`.
        uris.extend(option_locations(properties, _LOCATION_OPTIONS))
        found = {uri for uri in uris if uri}
        # A table over existing files reads them; CREATE TABLE ... LOCATION ... AS SELECT writes them.
        if expression.expression is not None:
            statement.location_writes = sorted(set(statement.location_writes) | found)
        else:
            statement.location_reads = sorted(set(statement.location_reads) | found)
    if _session_scoped(expression):
        context.temporary.update(tables.refs(context, created))


def _session_scoped(create: exp.Expression) -> bool:
    """CREATE TEMP[ORARY] / VOLATILE / Oracle PRIVATE TEMPORARY: the table lives as long as the
    session. (Oracle's CREATE GLOBAL TEMPORARY TABLE defines a permanent table whose rows are
    private: not temporary.)"""
    properties = create.args.get("properties")
    if not isinstance(properties, exp.Properties):
        return False
    return any(_session_property(p) for p in properties.expressions)


def _session_property(prop: exp.Expression) -> bool:
    if isinstance(prop, exp.VolatileProperty):
        return True
    if isinstance(prop, exp.TemporaryProperty):
        return not prop.this or str(prop.this).upper() == "PRIVATE"
    # Teradata `CREATE MULTISET VOLATILE TABLE` reads to sqlglot as a function's stability.
    return isinstance(prop, exp.StabilityProperty) and prop.name.upper() == "VOLATILE"


def _properties(create: exp.Expression) -> list[exp.Expression]:
    properties = create.args.get("properties")
    return properties.expressions if isinstance(properties, exp.Properties) else []


def _has_property(create: exp.Expression, kind: type[exp.Expression]) -> bool:
    return any(isinstance(p, kind) for p in _properties(create))


@handles(exp.Alter)
def _alter(context: Context, alter: exp.Expression, statement: StatementLineage, procedural: bool) -> None:
    """ALTER changes the definition of the altered table and reads only a query it embeds (ALTER
    VIEW ... AS SELECT). `ALTER TABLE t SWAP WITH s` fills t with s's rows: it writes t, reads s.
    RENAME writes the new name and records the old one."""
    statement.kind = "ALTER"
    if not alters_table(alter):
        return
    rename = alter_rename(context, alter)
    if rename is not None:
        statement.kind = "ALTER_RENAME"
        statement.renamed_from, new = rename
        statement.writes = [new]
        return
    kind = (alter.args.get("kind") or "").upper()
    statement.writes = tables.refs(context, tables.tables_of(alter.this))
    queries = []
    for action in alter.args.get("actions") or ():
        if isinstance(action, exp.SwapTable):
            statement.reads = sorted(set(statement.reads) | set(tables.refs(context, tables.tables_of(action.this))))
        elif isinstance(action, exp.Query):
            queries.append(action)
    for query in queries:
        tables.collect(context, query, statement)
    if "VIEW" in kind and queries:
        statement.views = list(statement.writes)


def alters_table(alter: exp.Expression) -> bool:
    kind = (alter.args.get("kind") or "").upper()
    return "TABLE" in kind or "VIEW" in kind


def alter_rename(context: Context, alter: exp.Expression) -> tuple[TableRef | None, TableRef] | None:
    """(old, new) for ALTER TABLE / VIEW ... RENAME TO; an unqualified new name stays in the old
    name's schema (and is normalised as a name qualified that way)."""
    rename = next((a for a in alter.args.get("actions") or () if isinstance(a, exp.AlterRename)), None)
    if rename is None or not isinstance(rename.this, exp.Table):
        return None
    old_table = alter.this if isinstance(alter.this, exp.Table) else None
    old = table_ref(context.names, old_table) if old_table is not None else None
    new_table = rename.this
    if old_table is not None and any(new_table.args.get(k) is None and old_table.args.get(k) for k in ("db", "catalog")):
        new_table = new_table.copy()
        for key in ("catalog", "db"):
            if new_table.args.get(key) is None and old_table.args.get(key) is not None:
                new_table.set(key, old_table.args[key].copy())
    new = table_ref(context.names, new_table)
    return (old, new) if new else None


@handles(exp.Execute, exp.ExecuteSql)
def _execute(context: Context, expression: exp.Expression, statement: StatementLineage, procedural: bool) -> None:
    """T-SQL `EXEC [@rc =] proc ...` calls the procedure."""
    statement.kind = "EXECUTE" if isinstance(expression, exp.Execute) else "EXECUTESQL"
    this = expression.this
    if isinstance(this, exp.Table):
        routine = table_ref(context.names, this)
        if routine is not None:
            statement.calls = [routine]


@handles(exp.Declare, exp.Set)
def _assignment(context: Context, expression: exp.Expression, statement: StatementLineage, procedural: bool) -> None:
    """DECLARE / SET read the tables of the queries that compute their values. A session variable
    set to a string is remembered: a later `IDENTIFIER($v)` names the table it holds."""
    statement.kind = type(expression).__name__.upper()
    if expression.find(exp.Query) is not None:
        tables.collect(context, expression, statement)
    if isinstance(expression, exp.Set):
        for item in items(expression):
            assigned = item.this if isinstance(item, exp.SetItem) else None
            if isinstance(assigned, exp.EQ):
                _remember(context, assigned.this, assigned.expression)


def _remember(context: Context, names: exp.Expression, values: exp.Expression) -> None:
    pairs = zip(items(names), items(values)) if isinstance(names, exp.Tuple) and isinstance(values, exp.Tuple) else [(names, values)]
    for name, value in pairs:
        if isinstance(name, exp.Column) and not name.table and isinstance(value, exp.Literal) and value.is_string:
            context.variables[name.name.upper()] = value.name
