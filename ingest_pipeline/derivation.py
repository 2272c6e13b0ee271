"""What a file's lineage was derived with, so that changing any of it re-derives the file.

The same bytes give other lineage under another extractor, another sqlglot, another dialect or
with column lineage switched. The ledger keeps each file's derivation signature beside its hash,
and the parse cache keys on it, so an upgrade or a settings change re-derives every affected file
on the next run instead of leaving the old lineage in the graph - and the run says why.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

import sqlglot

from ingest_pipeline.lineage import EXTRACTOR_VERSION, dialect_from_comment

SQLGLOT_VERSION: str = sqlglot.__version__


@dataclass(frozen=True)
class DialectRules:
    """Which dialect a file is read in: its `-- dialect:` comment, else the first matching glob, else the default."""

    default: str = ""
    globs: tuple[tuple[str, str], ...] = ()

    def for_file(self, path: str, text: str) -> str:
        named = dialect_from_comment(text)
        if named:
            return named
        for pattern, dialect in self.globs:
            if fnmatch.fnmatchcase(path, pattern):
                return dialect
        return self.default


@dataclass(frozen=True)
class Derivation:
    """Everything besides the bytes that decides a file's lineage."""

    dialect: str
    columns: bool
    extractor: str = EXTRACTOR_VERSION
    sqlglot: str = SQLGLOT_VERSION

    @property
    def signature(self) -> str:
        """Stable text form, stored in the ledger and part of the parse-cache key."""
        return f"extractor={self.extractor};sqlglot={self.sqlglot};dialect={self.dialect};columns={'on' if self.columns else 'off'}"


def explain_change(old: str | None, new: str) -> str | None:
    """Why a file derived under signature `old` must be derived again under `new`, or None if it need not."""
    if old == new:
        return None
    if not old:
        return "derivation unknown (ingested by an older version)"
    before, after = _parts(old), _parts(new)
    changes = [f"{name} {before.get(name, '?')!s} -> {value}" for name, value in after.items() if before.get(name) != value]
    return ", ".join(changes) or "derivation changed"


def _parts(signature: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in signature.split(";") if "=" in part)
