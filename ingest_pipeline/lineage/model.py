"""The lineage model: what one SQL file says about tables and columns, independent of where it lives.

The model carries no path so that it can be cached by content hash and reused for any file with
the same bytes; the path is attached when the model becomes graph rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Bump whenever extraction output changes: it is part of the parse-cache key, so a new
# extractor never serves results cached by an old one.
EXTRACTOR_VERSION = "2"

STAR = "*"


@dataclass(frozen=True, order=True)
class TableRef:
    """A table as the file names it, identifiers already normalised for the file's dialect."""

    catalog: str
    db: str
    name: str

    @property
    def fqn(self) -> str:
        return ".".join(part for part in (self.catalog, self.db, self.name) if part)


@dataclass(frozen=True, order=True)
class ColumnRef:
    """A column of a table, its name normalised for the file's dialect.

    `column == "*"` is an unexpanded star: every column of `table` (the file alone cannot say which
    they are; `lineage.catalog.expand_stars` resolves it from a catalog). `excluded` is only used by
    a star: columns it leaves out (BigQuery `* EXCEPT (...)`, Snowflake / DuckDB `* EXCLUDE (...)`,
    columns a `* REPLACE (...)` redefines), sorted.
    """

    table: TableRef
    column: str
    excluded: tuple[str, ...] = ()

    @property
    def fqn(self) -> str:
        return f"{self.table.fqn}.{self.column}"

    @property
    def is_star(self) -> bool:
        return self.column == STAR


@dataclass
class ColumnLineage:
    """A target column and the source columns its values are computed from (sorted, unique).

    An empty `sources` list means the column is written from constants only. A star target
    (`target.column == "*"`) passes star sources through column by column (matched by name); a
    star source of a named target means the value depends on every column of that table (for
    example `TO_JSON_STRING(t)` or `ARRAY_AGG(t)`).
    """

    target: ColumnRef
    sources: list[ColumnRef] = field(default_factory=list)


@dataclass
class StatementLineage:
    """One statement of a file: its kind, where it starts, which tables (and columns) it reads and writes."""

    index: int
    kind: str
    line: int
    reads: list[TableRef] = field(default_factory=list)
    writes: list[TableRef] = field(default_factory=list)
    # Tables this statement defines as views (a subset of writes).
    views: list[TableRef] = field(default_factory=list)
    # For ALTER ... RENAME: the old name (the new one is in writes).
    renamed_from: TableRef | None = None
    error: str | None = None
    # Column lineage (empty when extraction ran with columns=False or the statement writes no
    # columns). Edges of one target table are in the order of the query's output columns.
    columns: list[ColumnLineage] = field(default_factory=list)
    # The ordered output columns of the table a CREATE TABLE / CTAS / CREATE VIEW / SELECT INTO
    # defines: a named column has table == the created table; a star output is
    # ColumnRef(source_table, "*") to be expanded from the catalog.
    defined_columns: list[ColumnRef] = field(default_factory=list)
    # Targets of INSERTs without a column list: their edges' target names are the query's output
    # names and map to the table's columns by position (expand_stars does so when the catalog
    # knows the table's columns).
    positional: list[TableRef] = field(default_factory=list)
    # Column lineage could not be computed; the table lineage above is still valid.
    column_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        row: dict[str, Any] = {"i": self.index, "k": self.kind, "l": self.line}
        for key, refs in (("r", self.reads), ("w", self.writes), ("v", self.views), ("p", self.positional)):
            if refs:
                row[key] = [[t.catalog, t.db, t.name] for t in refs]
        if self.renamed_from is not None:
            t = self.renamed_from
            row["rf"] = [t.catalog, t.db, t.name]
        if self.error is not None:
            row["e"] = self.error
        if self.columns or self.defined_columns:
            # Column refs name their table by index into a per-statement table list.
            tables: dict[TableRef, int] = {}
            if self.columns:
                row["c"] = [
                    [_encode_column(edge.target, tables), [_encode_column(s, tables) for s in edge.sources]]
                    for edge in self.columns
                ]
            if self.defined_columns:
                row["dc"] = [_encode_column(ref, tables) for ref in self.defined_columns]
            row["ct"] = [[t.catalog, t.db, t.name] for t in tables]
        if self.column_error is not None:
            row["ce"] = self.column_error
        return row

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> StatementLineage:
        renamed = row.get("rf")
        tables = [TableRef(*t) for t in row.get("ct", ())]
        return cls(
            index=row["i"],
            kind=row["k"],
            line=row["l"],
            reads=[TableRef(*t) for t in row.get("r", ())],
            writes=[TableRef(*t) for t in row.get("w", ())],
            views=[TableRef(*t) for t in row.get("v", ())],
            renamed_from=TableRef(*renamed) if renamed else None,
            error=row.get("e"),
            columns=[
                ColumnLineage(_decode_column(target, tables), [_decode_column(s, tables) for s in sources])
                for target, sources in row.get("c", ())
            ],
            defined_columns=[_decode_column(ref, tables) for ref in row.get("dc", ())],
            positional=[TableRef(*t) for t in row.get("p", ())],
            column_error=row.get("ce"),
        )


def _encode_column(ref: ColumnRef, tables: dict[TableRef, int]) -> list[Any]:
    index = tables.setdefault(ref.table, len(tables))
    if ref.excluded:
        return [index, ref.column, list(ref.excluded)]
    return [index, ref.column]


def _decode_column(row: list[Any], tables: list[TableRef]) -> ColumnRef:
    if len(row) > 2:
        return ColumnRef(tables[row[0]], row[1], tuple(row[2]))
    return ColumnRef(tables[row[0]], row[1])


@dataclass
class FileLineage:
    """Everything extracted from one file's bytes under one dialect."""

    dialect: str
    statements: list[StatementLineage] = field(default_factory=list)
    # The bytes were not valid UTF-8 and were decoded with replacement characters.
    decode_errors: bool = False
    # Jinja or similar templating was detected; the reason says what was found.
    templated: str | None = None

    @property
    def error_count(self) -> int:
        return sum(1 for s in self.statements if s.error is not None)

    def to_dict(self) -> dict[str, Any]:
        row: dict[str, Any] = {"d": self.dialect, "s": [s.to_dict() for s in self.statements]}
        if self.decode_errors:
            row["de"] = True
        if self.templated:
            row["t"] = self.templated
        return row

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> FileLineage:
        return cls(
            dialect=row["d"],
            statements=[StatementLineage.from_dict(s) for s in row["s"]],
            decode_errors=row.get("de", False),
            templated=row.get("t"),
        )
