"""Lineage model -> the rows the graph writer MERGEs (graph contract v2, docs/graph-model.md).

Pure data: every value here reaches Neo4j only as a query parameter, never as query text.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from ingest_pipeline.graph import cypher
from ingest_pipeline.lineage.model import FileLineage, StatementLineage, TableRef
from ingest_pipeline.planning import FileTask


@dataclass
class FileRows:
    """Everything one file contributes to the graph; written (and replaced) as one unit."""

    path: str
    file: dict[str, Any]
    statements: list[dict[str, Any]] = field(default_factory=list)
    tables: list[dict[str, Any]] = field(default_factory=list)
    reads: list[dict[str, str]] = field(default_factory=list)
    writes: list[dict[str, str]] = field(default_factory=list)
    depends_on: list[dict[str, str]] = field(default_factory=list)
    # Column lineage, filled in by graph.columns once the catalog is known (at write time).
    columns: list[dict[str, Any]] = field(default_factory=list)
    defines: list[dict[str, str]] = field(default_factory=list)
    derives: list[dict[str, Any]] = field(default_factory=list)
    # Contract v2: external locations, routines and the links of statements to them.
    locations: list[dict[str, Any]] = field(default_factory=list)
    location_reads: list[dict[str, str]] = field(default_factory=list)
    location_writes: list[dict[str, str]] = field(default_factory=list)
    # DEPENDS_ON between a table and a location: (Table)->(Location) and (Location)->(Table).
    table_location_depends: list[dict[str, str]] = field(default_factory=list)
    location_table_depends: list[dict[str, str]] = field(default_factory=list)
    routines: list[dict[str, Any]] = field(default_factory=list)
    in_routine: list[dict[str, str]] = field(default_factory=list)
    defines_routine: list[dict[str, str]] = field(default_factory=list)
    calls: list[dict[str, str]] = field(default_factory=list)
    # What the lineage was derived with: recorded in the ledger once the rows commit, not written.
    derivation: str = ""

    @property
    def relationship_count(self) -> int:
        """Relationships these rows create (HAS_STATEMENT and HAS_COLUMN ride on statement and column rows)."""
        parts = (
            self.statements, self.reads, self.writes, self.depends_on, self.columns, self.defines, self.derives,
            self.location_reads, self.location_writes, self.table_location_depends, self.location_table_depends,
            self.in_routine, self.defines_routine, self.calls,
        )  # fmt: skip
        return sum(len(rows) for rows in parts)

    @property
    def row_count(self) -> int:
        """Every row sent to Neo4j: the file, its tables, locations, routines and one row per relationship."""
        return 1 + len(self.tables) + len(self.locations) + len(self.routines) + self.relationship_count


def statement_id(path: str, index: int) -> str:
    return f"{path}#{index}"


def table_key(ref: TableRef, path: str, temporary: Collection[TableRef]) -> str:
    """The Table node key. A session-scoped temporary table (`#t`, a table variable `@t`, one made
    by CREATE TEMP TABLE) only exists for the script that creates it, so it is keyed per file
    (`#t@<path>`): two unrelated files' `#t` are two nodes. T-SQL `##t` is shared by name."""
    if ref in temporary and not ref.name.startswith("##"):
        return f"{ref.fqn}@{path}"
    return ref.fqn


def location_scheme(uri: str) -> str:
    """`s3`, `gs`, `hdfs`, `abfss`, ... from a URI; `stage` for a Snowflake stage; `file` otherwise."""
    if uri.startswith("@"):
        return "stage"
    scheme, separator, _ = uri.partition("://")
    return scheme.lower() if separator and scheme.isalnum() else "file"


def file_rows(
    task: FileTask, lineage: FileLineage | None, ingested_at: str, read_error: str | None = None, derivation: str = ""
) -> FileRows:
    """Rows for one parsed file, keyed by the file's key. An unreadable file still gets its SqlFile node, with the error."""
    statements = lineage.statements if lineage else []
    key = task.key
    rows = FileRows(
        path=key,
        derivation=derivation,
        file={
            "path": key,
            "source": task.source,
            "sha256": task.sha256,
            "dialect": lineage.dialect if lineage else "",
            "size_bytes": task.size_bytes,
            "statement_count": len(statements),
            "error_count": (lineage.error_count if lineage else 0) + (1 if read_error else 0),
            "decode_errors": bool(lineage and lineage.decode_errors),
            "templated": lineage.templated if lineage else None,
            "read_error": read_error,
            "ingested_at": ingested_at,
        },
    )
    collector = _Collector(key, rows)
    for statement in statements:
        collector.add(statement)
    collector.finish()
    return rows


class _Collector:
    """Builds one file's rows statement by statement, deduplicating nodes by key."""

    def __init__(self, path: str, rows: FileRows) -> None:
        self.path = path
        self.rows = rows
        self.tables: dict[str, dict[str, Any]] = {}
        self.locations: dict[str, dict[str, Any]] = {}
        self.routines: dict[str, dict[str, Any]] = {}

    def table(self, ref: TableRef, temporary: Collection[TableRef], kind: str | None = None) -> str:
        key = table_key(ref, self.path, temporary)
        row = self.tables.setdefault(
            key,
            {
                "fqn": key, "name": ref.name, "db": ref.db or None, "catalog": ref.catalog or None, "kind": None,
                "temporary": ref in temporary, "local_to": self.path if key != ref.fqn else None,
            },
        )  # fmt: skip
        if kind == "view":
            row["kind"] = "view"
        return key

    def location(self, uri: str) -> str:
        self.locations.setdefault(uri, {"uri": uri, "scheme": location_scheme(uri)})
        return uri

    def routine(self, ref: TableRef) -> str:
        self.routines.setdefault(ref.fqn, {"fqn": ref.fqn, "name": ref.name, "db": ref.db or None, "catalog": ref.catalog or None})
        return ref.fqn

    def add(self, statement: StatementLineage) -> None:
        rows, path = self.rows, self.path
        sid = statement_id(path, statement.index)
        temporary = set(statement.temporary)
        rows.statements.append(
            {
                "id": sid,
                "path": path,
                "index": statement.index,
                "kind": statement.kind,
                "line": statement.line,
                "error": statement.error,
                "renamed_from": statement.renamed_from.fqn if statement.renamed_from else None,
                "parsed_as": statement.parsed_as,
                "routine": statement.routine.fqn if statement.routine else None,
            }
        )
        views = set(statement.views)
        written = [self.table(ref, temporary, "view" if ref in views else None) for ref in statement.writes]
        read = [self.table(ref, temporary) for ref in statement.reads]
        rows.writes.extend({"statement": sid, "fqn": fqn} for fqn in written)
        rows.reads.extend({"statement": sid, "fqn": fqn} for fqn in read)
        rows.depends_on.extend(
            {"target": target, "source": source, "file": path} for target in written for source in read if source != target
        )
        read_locations = [self.location(uri) for uri in statement.location_reads]
        written_locations = [self.location(uri) for uri in statement.location_writes]
        rows.location_reads.extend({"statement": sid, "uri": uri} for uri in read_locations)
        rows.location_writes.extend({"statement": sid, "uri": uri} for uri in written_locations)
        rows.table_location_depends.extend(
            {"target": target, "source": source, "file": path} for target in written for source in read_locations
        )
        rows.location_table_depends.extend(
            {"target": target, "source": source, "file": path} for target in written_locations for source in read
        )
        if statement.routine is not None:
            rows.in_routine.append({"statement": sid, "routine": self.routine(statement.routine)})
        if statement.defines_routine is not None:
            kind = statement.kind.split("_", 1)[-1].lower()
            rows.defines_routine.append({"statement": sid, "routine": self.routine(statement.defines_routine), "kind": kind})
        rows.calls.extend({"statement": sid, "routine": self.routine(ref)} for ref in statement.calls)

    def finish(self) -> None:
        rows = self.rows
        rows.tables = sorted(self.tables.values(), key=lambda r: r["fqn"])
        rows.locations = sorted(self.locations.values(), key=lambda r: r["uri"])
        rows.routines = sorted(self.routines.values(), key=lambda r: r["fqn"])
        rows.depends_on = unique_sorted(rows.depends_on, ("target", "source"))
        rows.reads = unique_sorted(rows.reads, ("statement", "fqn"))
        rows.writes = unique_sorted(rows.writes, ("statement", "fqn"))
        rows.location_reads = unique_sorted(rows.location_reads, ("statement", "uri"))
        rows.location_writes = unique_sorted(rows.location_writes, ("statement", "uri"))
        rows.table_location_depends = unique_sorted(rows.table_location_depends, ("target", "source"))
        rows.location_table_depends = unique_sorted(rows.location_table_depends, ("target", "source"))
        rows.in_routine = unique_sorted(rows.in_routine, ("statement", "routine"))
        rows.defines_routine = unique_sorted(rows.defines_routine, ("statement", "routine"))
        rows.calls = unique_sorted(rows.calls, ("statement", "routine"))


def unique_sorted(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """Dedupe and sort by key: sorted MERGE order keeps concurrent writers from deadlocking."""
    unique = {tuple(row[k] for k in keys): row for row in rows}
    return [unique[key] for key in sorted(unique)]


def v2_row_sets(group: list[FileRows]) -> list[tuple[str, list[dict[str, Any]]]]:
    """(query, rows) of contract v2 for a group of files, after their statements and tables exist;
    nodes sorted by key and relationships by their node, so concurrent writers lock in one order."""

    def merged(attribute: str, key: str) -> list[dict[str, Any]]:
        return sorted({row[key]: row for f in group for row in getattr(f, attribute)}.values(), key=lambda r: r[key])

    def links(attribute: str, target: str) -> list[dict[str, Any]]:
        return sorted((row for f in group for row in getattr(f, attribute)), key=lambda r: (r[target], r["statement"]))

    return [
        (cypher.MERGE_LOCATIONS, merged("locations", "uri")),
        (cypher.MERGE_ROUTINES, merged("routines", "fqn")),
        (cypher.CREATE_LOCATION_READS, links("location_reads", "uri")),
        (cypher.CREATE_LOCATION_WRITES, links("location_writes", "uri")),
        (cypher.CREATE_TABLE_LOCATION_DEPENDS_ON, [row for f in group for row in f.table_location_depends]),
        (cypher.CREATE_LOCATION_TABLE_DEPENDS_ON, [row for f in group for row in f.location_table_depends]),
        (cypher.CREATE_IN_ROUTINE, links("in_routine", "routine")),
        (cypher.CREATE_DEFINES_ROUTINE, links("defines_routine", "routine")),
        (cypher.CREATE_CALLS, links("calls", "routine")),
    ]
