"""How a group of files replaces its part of the graph: one plan, whatever executes it.

A replacement is (1) collect what the files' current statements touch, (2) delete their old
contributions, (3) write the new rows in dependency order, (4) tidy the tables and columns that
lost their last reference. The Neo4j resource runs the same plan in one transaction (the default:
a reader never sees a file half old, half new), one transaction per entity (the unoptimised
baseline), or in bounded stages for a file too large for one transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ingest_pipeline.graph import cypher
from ingest_pipeline.graph.rows import FileRows, v2_row_sets

Row = dict[str, Any]


@dataclass(frozen=True)
class RowSet:
    """One parameterised query and the rows it is run with ($rows), sorted by key so that
    concurrent writers would lock in one order."""

    query: str
    rows: list[Row]

    def batches(self, size: int) -> Iterator[list[Row]]:
        for start in range(0, len(self.rows), max(1, size)):
            yield self.rows[start : start + size]


@dataclass(frozen=True)
class Replacement:
    """Everything one transaction (or one staged replace) does for a group of files."""

    # Keys of every file whose old contribution goes: the deleted ones and the rewritten ones.
    paths: list[str]
    # Keys of files removed altogether (their SqlFile nodes go too).
    deleted: list[str]
    # New rows in dependency order: files, tables, statements, their edges, columns, column edges.
    row_sets: list[RowSet]
    # Tables and routines the new rows name (with those the old statements touched: candidates for tidying).
    tables: list[str]
    routines: list[str]

    @property
    def row_count(self) -> int:
        return sum(len(s.rows) for s in self.row_sets)


# Deletions of a file's old contribution, each bounded by $limit when staged.
DELETIONS = (cypher.DELETE_STATEMENTS, cypher.DELETE_DEPENDS_ON, cypher.DELETE_DERIVES_FROM)
STAGED_DELETIONS = (cypher.DELETE_STATEMENTS_BATCH, cypher.DELETE_DEPENDS_ON_BATCH, cypher.DELETE_DERIVES_FROM_BATCH)


def replacement(deleted: Sequence[str], group: Sequence[FileRows]) -> Replacement:
    """The plan that removes `deleted` and replaces the files of `group`."""
    tables = _merge_tables(group)
    return Replacement(
        paths=sorted({*deleted, *(f.path for f in group)}),
        deleted=sorted(deleted),
        row_sets=_row_sets(group, tables),
        tables=[t["fqn"] for t in tables],
        routines=sorted({r["fqn"] for f in group for r in f.routines}),
    )


def _merge_tables(group: Sequence[FileRows]) -> list[Row]:
    tables: dict[str, Row] = {}
    for rows in group:
        for table in rows.tables:
            tables.setdefault(table["fqn"], table)
    return [tables[fqn] for fqn in sorted(tables)]


def _row_sets(group: Sequence[FileRows], tables: list[Row]) -> list[RowSet]:
    return [
        RowSet(cypher.MERGE_FILES, [f.file for f in group]),
        RowSet(cypher.MERGE_TABLES, tables),
        RowSet(cypher.CREATE_STATEMENTS, [s for f in group for s in f.statements]),
        RowSet(cypher.CREATE_READS, sorted((r for f in group for r in f.reads), key=lambda r: (r["fqn"], r["statement"]))),
        RowSet(cypher.CREATE_WRITES, sorted((r for f in group for r in f.writes), key=lambda r: (r["fqn"], r["statement"]))),
        RowSet(cypher.CREATE_DEPENDS_ON, [d for f in group for d in f.depends_on]),
        RowSet(cypher.MERGE_COLUMNS, sorted({c["fqn"]: c for f in group for c in f.columns}.values(), key=lambda c: c["fqn"])),
        RowSet(cypher.CREATE_DEFINES, [d for f in group for d in f.defines]),
        RowSet(
            cypher.CREATE_DERIVES_FROM, sorted((d for f in group for d in f.derives), key=lambda d: (d["target"], d["source"]))
        ),
        *(RowSet(query, rows) for query, rows in v2_row_sets(group)),
    ]


def groups(files: Sequence[FileRows], max_files: int, max_rows: int) -> Iterator[list[FileRows]]:
    """Files in key order, cut into groups of at most max_files files and (past the first file of a
    group) at most max_rows rows, so that no transaction grows past what the server's memory allows."""
    group: list[FileRows] = []
    rows = 0
    for file in sorted(files, key=lambda f: f.path):
        if group and (len(group) >= max(1, max_files) or rows + file.row_count > max_rows):
            yield group
            group, rows = [], 0
        group.append(file)
        rows += file.row_count
    if group:
        yield group
