"""Statements that move rows between tables and locations: COPY, LOAD DATA, EXPORT DATA, PUT.

* `COPY t FROM <files>` (PostgreSQL, Redshift, Snowflake `COPY INTO t FROM @stage`, Databricks,
  T-SQL `COPY INTO`) writes t and reads the files; `COPY t TO <file>` / `COPY INTO @stage FROM t`
  reads t (or the query) and writes the location. STDIN / STDOUT are not locations.
* `LOAD DATA [LOCAL] INPATH 'p' INTO TABLE t` (Hive, Spark) and BigQuery `LOAD DATA INTO t FROM
  FILES (uris = [...])` write t and read the files.
* BigQuery `EXPORT DATA OPTIONS (uri = ...) AS SELECT ...` reads the query and writes the uri.
* Snowflake `PUT file://... @stage` uploads a local file into a stage.
"""

from __future__ import annotations

from sqlglot import exp

from ingest_pipeline.lineage import tables
from ingest_pipeline.lineage.context import Context
from ingest_pipeline.lineage.handlers import handles
from ingest_pipeline.lineage.locations import literal_location, literal_locations, option_locations, table_location
from ingest_pipeline.lineage.model import StatementLineage


@handles(exp.Copy)
def _copy(context: Context, copy: exp.Expression, statement: StatementLineage, procedural: bool) -> None:
    statement.kind = "COPY"
    loading = bool(copy.args.get("kind"))
    target = copy.this
    files = copy.args.get("files") or []
    into_location = isinstance(target, exp.Table) and table_location(context, target) is not None
    if loading and not into_location:
        tables.write(context, statement, tables.tables_of(target))
        _sources(context, files, statement)
        return
    # Unloading: the table or query named on one side is read, the files on the other written.
    # Into a location from files (Databricks `COPY INTO delta.`/path` FROM 's3://...'): both.
    sources = files if into_location else [target]
    destinations = [target] if into_location else files
    for source in sources:
        found = literal_location(source)
        if found:
            statement.location_reads = sorted(set(statement.location_reads) | {found})
        elif isinstance(source, exp.Expression):
            tables.collect(context, source, statement)
    statement.location_writes = sorted(set(statement.location_writes) | set(_locations(context, destinations)))


def _sources(context: Context, files: list[exp.Expression], statement: StatementLineage) -> None:
    """What a COPY ... FROM loads: files and stages (locations) or a transforming query."""
    for node in files:
        if isinstance(node, (exp.Subquery, exp.Query)):
            tables.collect(context, node, statement)
    statement.location_reads = sorted(set(statement.location_reads) | set(_locations(context, files)))


def _locations(context: Context, nodes: list[exp.Expression]) -> list[str]:
    found: list[str] = []
    for node in nodes:
        if isinstance(node, exp.Table):
            location = table_location(context, node)
        else:
            location = literal_location(node)
        if location:
            found.append(location)
    return found


@handles(exp.LoadData)
def _load_data(context: Context, load: exp.Expression, statement: StatementLineage, procedural: bool) -> None:
    statement.kind = "LOAD_DATA"
    tables.write(context, statement, tables.tables_of(load.this))
    found = literal_locations(load.args.get("inpath")) + option_locations(load.args.get("files"), ("uris", "uri"))
    statement.location_reads = sorted(set(found))


@handles(exp.Export)
def _export(context: Context, export: exp.Expression, statement: StatementLineage, procedural: bool) -> None:
    statement.kind = "EXPORT"
    if export.this is not None:
        tables.collect(context, export.this, statement)
    statement.location_writes = sorted(set(option_locations(export.args.get("options"), ("uri", "uris"))))


@handles(exp.Put)
def _put(context: Context, put: exp.Expression, statement: StatementLineage, procedural: bool) -> None:
    statement.kind = "PUT"
    source = literal_location(put.this)
    target = put.args.get("target")
    if source:
        statement.location_reads = [source]
    if isinstance(target, exp.Var) and target.name.startswith("@"):
        statement.location_writes = [table_location(context, exp.Table(this=target)) or target.name]
