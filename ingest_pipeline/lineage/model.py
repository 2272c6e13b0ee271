"""The lineage model: what one SQL file says about tables, independent of where it lives.

The model carries no path so that it can be cached by content hash and reused for any file with
the same bytes; the path is attached when the model becomes graph rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Bump whenever extraction output changes: it is part of the parse-cache key, so a new
# extractor never serves results cached by an old one.
EXTRACTOR_VERSION = "1"


@dataclass(frozen=True, order=True)
class TableRef:
    """A table as the file names it, identifiers already normalised for the file's dialect."""

    catalog: str
    db: str
    name: str

    @property
    def fqn(self) -> str:
        return ".".join(part for part in (self.catalog, self.db, self.name) if part)


@dataclass
class StatementLineage:
    """One statement of a file: its kind, where it starts, which tables it reads and writes."""

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

    def to_dict(self) -> dict[str, Any]:
        row: dict[str, Any] = {"i": self.index, "k": self.kind, "l": self.line}
        for key, refs in (("r", self.reads), ("w", self.writes), ("v", self.views)):
            if refs:
                row[key] = [[t.catalog, t.db, t.name] for t in refs]
        if self.renamed_from is not None:
            t = self.renamed_from
            row["rf"] = [t.catalog, t.db, t.name]
        if self.error is not None:
            row["e"] = self.error
        return row

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> StatementLineage:
        renamed = row.get("rf")
        return cls(
            index=row["i"],
            kind=row["k"],
            line=row["l"],
            reads=[TableRef(*t) for t in row.get("r", ())],
            writes=[TableRef(*t) for t in row.get("w", ())],
            views=[TableRef(*t) for t in row.get("v", ())],
            renamed_from=TableRef(*renamed) if renamed else None,
            error=row.get("e"),
        )


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
