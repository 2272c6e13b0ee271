"""Column lineage -> graph rows, with `*` expanded from the corpus's own schema catalog.

The catalog is every CREATE TABLE / CTAS / view definition seen in the ingested files (kept in the
ledger, so it spans runs). A file's column edges are expanded against it when the file is written;
the tables an expansion consulted are remembered, so that when one of those definitions changes
the dependent files can be refreshed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ingest_pipeline.graph.rows import FileRows, statement_id, table_key, unique_sorted
from ingest_pipeline.lineage import ColumnRef, FileLineage, TableRef, expand_stars, star_tables

Definitions = Mapping[str, Sequence[ColumnRef]]


def file_definitions(lineage: FileLineage) -> list[tuple[int, str, list[ColumnRef]]]:
    """(statement index, defined table fqn, ordered columns) for each statement that defines a table."""
    found = []
    for statement in lineage.statements:
        if statement.defined_columns and statement.writes:
            found.append((statement.index, statement.writes[0].fqn, list(statement.defined_columns)))
    return found


@dataclass
class ColumnRows:
    columns: list[dict[str, Any]] = field(default_factory=list)
    defines: list[dict[str, str]] = field(default_factory=list)
    derives: list[dict[str, Any]] = field(default_factory=list)
    # Tables whose catalog entries the expansion consulted (refresh this file when they change).
    depends_on_definitions: set[str] = field(default_factory=set)


def column_rows(path: str, lineage: FileLineage, catalog: Mapping[str, Sequence[str]], definitions: Definitions) -> ColumnRows:
    """Column nodes, DEFINES and DERIVES_FROM rows of one file, stars expanded and unqualified
    columns settled where the catalog can; a DERIVES_FROM row says whether its source is one of
    several candidates the catalog could not choose between (`ambiguous`) and the target's place
    in the statement's output (`position`, or None)."""
    rows = ColumnRows()
    columns: dict[str, dict[str, Any]] = {}
    temporary: set[TableRef] = set()

    def column(ref: ColumnRef) -> str:
        # A file's temporary tables are its own nodes (see graph.rows.table_key), and so are their columns.
        table = table_key(ref.table, path, temporary) if temporary else ref.table.fqn
        fqn = f"{table}.{ref.column}"
        if fqn not in columns:
            columns[fqn] = {"fqn": fqn, "name": ref.column, "table": table}
        return fqn

    for statement in lineage.statements:
        sid = statement_id(path, statement.index)
        temporary = set(statement.temporary)
        if statement.defined_columns and statement.writes:
            table = statement.writes[0]
            # The columns defined are the catalog's (the last definition of the table wins): another
            # file's definition of the same table changes them, so this file depends on it too.
            rows.depends_on_definitions.add(table.fqn)
            names = catalog.get(table.fqn) or [ref.column for ref in statement.defined_columns if not ref.is_star]
            for name in names:
                rows.defines.append({"statement": sid, "column": column(ColumnRef(table, name))})
        if not statement.columns:
            continue
        rows.depends_on_definitions |= star_tables(statement, definitions)
        for edge in expand_stars(statement, catalog):
            if not edge.sources:
                continue  # set from constants only: no edge, so no Column node (it would be an orphan)
            target = column(edge.target)
            ambiguous = set(edge.ambiguous)
            for source in edge.sources:
                rows.derives.append(
                    {
                        "target": target,
                        "source": column(source),
                        "file": path,
                        "statement": sid,
                        "ambiguous": source in ambiguous,
                        "position": edge.position,
                    }
                )
    rows.columns = [columns[fqn] for fqn in sorted(columns)]
    rows.defines = unique_sorted(rows.defines, ("statement", "column"))
    rows.derives = unique_sorted(rows.derives, ("target", "source", "statement"))
    return rows


def attach(rows: FileRows, columns: ColumnRows) -> None:
    rows.columns, rows.defines, rows.derives = columns.columns, columns.defines, columns.derives


def changed_tables(before: Mapping[str, Sequence[str]], after: Mapping[str, Sequence[str]]) -> set[str]:
    """Tables whose known columns differ between two catalogs."""
    return {fqn for fqn in before.keys() | after.keys() if list(before.get(fqn, ())) != list(after.get(fqn, ()))}
