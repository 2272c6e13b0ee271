"""Lineage model -> the rows the graph writer MERGEs (graph contract v1, docs/graph-model.md).

Pure data: every value here reaches Neo4j only as a query parameter, never as query text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ingest_pipeline.lineage.model import FileLineage, TableRef
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
    # What the lineage was derived with: recorded in the ledger once the rows commit, not written.
    derivation: str = ""

    @property
    def relationship_count(self) -> int:
        """Relationships these rows create (HAS_STATEMENT and HAS_COLUMN ride on statement and column rows)."""
        parts = (self.statements, self.reads, self.writes, self.depends_on, self.columns, self.defines, self.derives)
        return sum(len(rows) for rows in parts)

    @property
    def row_count(self) -> int:
        """Every row sent to Neo4j: the file, its tables, and one row per relationship."""
        return 1 + len(self.tables) + self.relationship_count


def statement_id(path: str, index: int) -> str:
    return f"{path}#{index}"


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
    tables: dict[str, dict[str, Any]] = {}

    def table(ref: TableRef, kind: str | None = None) -> str:
        row = tables.setdefault(
            ref.fqn, {"fqn": ref.fqn, "name": ref.name, "db": ref.db or None, "catalog": ref.catalog or None, "kind": None}
        )
        if kind == "view":
            row["kind"] = "view"
        return ref.fqn

    for statement in statements:
        sid = statement_id(key, statement.index)
        rows.statements.append(
            {
                "id": sid,
                "path": key,
                "index": statement.index,
                "kind": statement.kind,
                "line": statement.line,
                "error": statement.error,
                "renamed_from": statement.renamed_from.fqn if statement.renamed_from else None,
            }
        )
        views = set(statement.views)
        written = [table(ref, "view" if ref in views else None) for ref in statement.writes]
        read = [table(ref) for ref in statement.reads]
        rows.writes.extend({"statement": sid, "fqn": fqn} for fqn in written)
        rows.reads.extend({"statement": sid, "fqn": fqn} for fqn in read)
        rows.depends_on.extend(
            {"target": target, "source": source, "file": key}
            for target in written
            for source in read
            if source != target
        )
    rows.tables = sorted(tables.values(), key=lambda r: r["fqn"])
    rows.depends_on = unique_sorted(rows.depends_on, ("target", "source"))
    rows.reads = unique_sorted(rows.reads, ("statement", "fqn"))
    rows.writes = unique_sorted(rows.writes, ("statement", "fqn"))
    return rows


def unique_sorted(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """Dedupe and sort by key: sorted MERGE order keeps concurrent writers from deadlocking."""
    unique = {tuple(row[k] for k in keys): row for row in rows}
    return [unique[key] for key in sorted(unique)]
