"""The lineage model: what one SQL file says about tables and columns, independent of where it lives.

The model carries no path so that it can be cached by content hash and reused for any file with
the same bytes; the path is attached when the model becomes graph rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Bump whenever extraction output changes: it is part of the parse-cache key, so a new
# extractor never serves results cached by an old one.
EXTRACTOR_VERSION = "5"

STAR = "*"
# A column really named `*` (a quoted identifier such as `"*"`) is written this way, so that it is
# never taken for the star placeholder.
QUOTED_STAR = '"*"'


@dataclass(frozen=True, order=True)
class TableRef:
    """A table (or routine) as the file names it, identifiers already normalised for the file's dialect."""

    catalog: str
    db: str
    name: str

    @property
    def fqn(self) -> str:
        """The dot-joined parts; a part holding a dot or a double quote is double-quoted (quotes
        doubled), so `"sales.orders"` (one name) and `sales.orders` (two) never share a key. A
        catalog with an empty schema keeps its empty part (T-SQL `db..t` is `db..t`, not `db.t`)."""
        if self.catalog:
            return f"{_fqn_part(self.catalog)}.{_fqn_part(self.db)}.{_fqn_part(self.name)}"
        if self.db:
            return f"{_fqn_part(self.db)}.{_fqn_part(self.name)}"
        return _fqn_part(self.name)


def _fqn_part(part: str) -> str:
    if "." in part or '"' in part:
        return '"' + part.replace('"', '""') + '"'
    return part


@dataclass(frozen=True, order=True)
class ColumnRef:
    """A column of a table, its name normalised for the file's dialect.

    `column == "*"` is an unexpanded star: every column of `table` (the file alone cannot say which
    they are; `lineage.catalog.expand_stars` resolves it from a catalog). `excluded` is only used by
    a star: columns it leaves out (BigQuery `* EXCEPT (...)`, Snowflake / DuckDB `* EXCLUDE (...)`,
    columns a `* REPLACE (...)` redefines), sorted. `rows` marks a dependency on the table's rows
    rather than on any column (`count(*)`): written `t.*` like a star, but never expanded.
    """

    table: TableRef
    column: str
    excluded: tuple[str, ...] = ()
    rows: bool = False

    @property
    def fqn(self) -> str:
        return f"{self.table.fqn}.{self.column}"

    @property
    def is_star(self) -> bool:
        return self.column == STAR and not self.rows

    @classmethod
    def rows_of(cls, table: TableRef) -> ColumnRef:
        return cls(table, STAR, (), True)


@dataclass(frozen=True, order=True)
class Choice:
    """An unqualified column whose table the file alone cannot tell; the catalog decides.

    `candidates` are the columns it may be, one per table that may have it (several: ambiguous
    for lack of schemas). `lateral` says the dialect lets a select item refer to an earlier alias
    of the same list and one has this name: unless a candidate's table is known to have the column,
    the reference is that alias, computed from `alias` (and the choices of `alias_choices`).
    """

    candidates: tuple[ColumnRef, ...]
    lateral: bool = False
    alias: tuple[ColumnRef, ...] = ()
    alias_choices: tuple[Choice, ...] = ()

    # Choices travel among column refs while a query is resolved; they are never stars.
    is_star = False
    rows = False

    def encode(self, tables: dict[TableRef, int]) -> dict[str, Any]:
        row: dict[str, Any] = {"c": [_encode_column(ref, tables) for ref in self.candidates]}
        if self.lateral:
            row["l"] = 1
            row["a"] = [_encode_column(ref, tables) for ref in self.alias]
            if self.alias_choices:
                row["ac"] = [choice.encode(tables) for choice in self.alias_choices]
        return row

    @classmethod
    def decode(cls, row: dict[str, Any], tables: list[TableRef]) -> Choice:
        return cls(
            tuple(_decode_column(ref, tables) for ref in row["c"]),
            bool(row.get("l")),
            tuple(_decode_column(ref, tables) for ref in row.get("a", ())),
            tuple(cls.decode(choice, tables) for choice in row.get("ac", ())),
        )


@dataclass
class ColumnLineage:
    """A target column and the source columns its values are computed from (sorted, unique).

    An empty `sources` list means the column is written from constants only. A star target
    (`target.column == "*"`) passes star sources through column by column (matched by name); a
    star source of a named target means the value depends on every column of that table (for
    example `TO_JSON_STRING(t)` or `ARRAY_AGG(t)`).

    As extracted, `sources` are the certain sources and `choices` the unqualified references the
    catalog decides; `lineage.catalog.expand_stars` resolves them into `sources` and lists in
    `ambiguous` those it could only attribute to every candidate table. `position` is the target's
    0-based place in the query's output (None when not known, or not a query output). `branch`
    numbers the set-operation branch that feeds the target when the branches are aligned by
    position only once the catalog knows their stars' columns (0 otherwise).
    """

    target: ColumnRef
    sources: list[ColumnRef] = field(default_factory=list)
    choices: list[Choice] = field(default_factory=list)
    ambiguous: list[ColumnRef] = field(default_factory=list)
    position: int | None = None
    branch: int = 0

    def encode(self, tables: dict[TableRef, int]) -> list[Any]:
        row: list[Any] = [_encode_column(self.target, tables), [_encode_column(s, tables) for s in self.sources]]
        extra: dict[str, Any] = {}
        if self.choices:
            extra["ch"] = [choice.encode(tables) for choice in self.choices]
        if self.ambiguous:
            extra["am"] = [_encode_column(ref, tables) for ref in self.ambiguous]
        if self.position is not None:
            extra["p"] = self.position
        if self.branch:
            extra["b"] = self.branch
        if extra:
            row.append(extra)
        return row

    @classmethod
    def decode(cls, row: list[Any], tables: list[TableRef]) -> ColumnLineage:
        extra = row[2] if len(row) > 2 else {}
        return cls(
            _decode_column(row[0], tables),
            [_decode_column(s, tables) for s in row[1]],
            [Choice.decode(choice, tables) for choice in extra.get("ch", ())],
            [_decode_column(ref, tables) for ref in extra.get("am", ())],
            extra.get("p"),
            extra.get("b", 0),
        )


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
    # Column lineage could not be computed, or only partly (e.g. a set operation whose later branch is
    # wider than the first); the table lineage above is still valid.
    column_error: str | None = None
    # The routine (procedure, function, trigger, package) whose body holds this statement.
    routine: TableRef | None = None
    # For CREATE / ALTER PROCEDURE, FUNCTION, TRIGGER, PACKAGE: the routine it defines.
    defines_routine: TableRef | None = None
    # Routines this statement calls (CALL p(...), EXEC p, a PL/SQL procedure call).
    calls: list[TableRef] = field(default_factory=list)
    # Paths, URIs and stages the statement reads from / writes to (never tables), sorted.
    location_reads: list[str] = field(default_factory=list)
    location_writes: list[str] = field(default_factory=list)
    # The dialect that parsed the statement when the file's own could not (dialect fallback).
    parsed_as: str | None = None
    # Those of reads/writes that are temporary tables (#tmp, ##tmp, CREATE TEMP TABLE ...), sorted.
    temporary: list[TableRef] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        row: dict[str, Any] = {"i": self.index, "k": self.kind, "l": self.line}
        for key, refs in (
            ("r", self.reads),
            ("w", self.writes),
            ("v", self.views),
            ("p", self.positional),
            ("ca", self.calls),
            ("tt", self.temporary),
        ):
            if refs:
                row[key] = [[t.catalog, t.db, t.name] for t in refs]
        for key, ref in (("rf", self.renamed_from), ("ro", self.routine), ("dr", self.defines_routine)):
            if ref is not None:
                row[key] = [ref.catalog, ref.db, ref.name]
        for key, uris in (("lr", self.location_reads), ("lw", self.location_writes)):
            if uris:
                row[key] = list(uris)
        if self.parsed_as is not None:
            row["pa"] = self.parsed_as
        if self.error is not None:
            row["e"] = self.error
        if self.columns or self.defined_columns:
            # Column refs name their table by index into a per-statement table list.
            tables: dict[TableRef, int] = {}
            if self.columns:
                row["c"] = [edge.encode(tables) for edge in self.columns]
            if self.defined_columns:
                row["dc"] = [_encode_column(ref, tables) for ref in self.defined_columns]
            row["ct"] = [[t.catalog, t.db, t.name] for t in tables]
        if self.column_error is not None:
            row["ce"] = self.column_error
        return row

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> StatementLineage:
        renamed, routine, defines = row.get("rf"), row.get("ro"), row.get("dr")
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
            columns=[ColumnLineage.decode(edge, tables) for edge in row.get("c", ())],
            defined_columns=[_decode_column(ref, tables) for ref in row.get("dc", ())],
            positional=[TableRef(*t) for t in row.get("p", ())],
            column_error=row.get("ce"),
            routine=TableRef(*routine) if routine else None,
            defines_routine=TableRef(*defines) if defines else None,
            calls=[TableRef(*t) for t in row.get("ca", ())],
            location_reads=list(row.get("lr", ())),
            location_writes=list(row.get("lw", ())),
            parsed_as=row.get("pa"),
            temporary=[TableRef(*t) for t in row.get("tt", ())],
        )


def _encode_column(ref: ColumnRef, tables: dict[TableRef, int]) -> list[Any]:
    index = tables.setdefault(ref.table, len(tables))
    if ref.rows:
        return [index, ref.column, [], 1]
    if ref.excluded:
        return [index, ref.column, list(ref.excluded)]
    return [index, ref.column]


def _decode_column(row: list[Any], tables: list[TableRef]) -> ColumnRef:
    if len(row) > 2:
        return ColumnRef(tables[row[0]], row[1], tuple(row[2]), len(row) > 3 and bool(row[3]))
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
