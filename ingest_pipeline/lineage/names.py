"""Identifier normalisation the way a dialect resolves names (see docs/graph-model.md, *Identifiers*).

Table names are normalised in their syntactic context through the dialect itself, because some
dialects (BigQuery) treat a qualified table name as case-sensitive but every other identifier as
case-insensitive. Columns, aliases and CTE names follow the dialect's plain strategy, computed
here without building sqlglot nodes (it runs for every column of every query).
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect, NormalizationStrategy

from ingest_pipeline.lineage.model import TableRef


class Names:
    """Per-dialect name normaliser; cheap to call, caches plain names (use `Names.of(dialect)`)."""

    _shared: dict[tuple[type, object, bool], Names] = {}

    @classmethod
    def of(cls, dialect: Dialect) -> Names:
        """The shared normaliser of a dialect (its plain-name cache survives across files)."""
        key = (type(dialect), dialect.normalization_strategy, bool(getattr(dialect, "ASCII_ONLY_NORMALIZATION", False)))
        names = cls._shared.get(key)
        if names is None:
            names = cls(dialect)
            if len(cls._shared) < 64:
                cls._shared[key] = names
        return names

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        strategy = dialect.normalization_strategy
        self._contextual_tables = type(dialect).normalize_identifier is not Dialect.normalize_identifier
        self._ascii = bool(getattr(dialect, "ASCII_ONLY_NORMALIZATION", False))
        self._upper = strategy in (NormalizationStrategy.UPPERCASE, NormalizationStrategy.CASE_INSENSITIVE_UPPERCASE)
        self._fold_unquoted = strategy is not NormalizationStrategy.CASE_SENSITIVE
        self._fold_quoted = strategy in (
            NormalizationStrategy.CASE_INSENSITIVE,
            NormalizationStrategy.CASE_INSENSITIVE_UPPERCASE,
        )
        self._cache: dict[tuple[str, bool], str] = {}

    def plain(self, name: str, quoted: bool = False) -> str:
        """A column / alias / CTE name as the dialect resolves it."""
        key = (name, quoted)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        folded = name
        if self._fold_quoted or (self._fold_unquoted and not quoted):
            if self._ascii:
                folded = name.translate(_ASCII_UPPER if self._upper else _ASCII_LOWER)
            else:
                folded = name.upper() if self._upper else name.lower()
        if len(self._cache) < 100_000:
            self._cache[key] = folded
        return folded

    def ident(self, node: exp.Expression | None) -> str:
        """Normalised name of an Identifier (or the text of any other node) outside a table name."""
        if type(node) is exp.Identifier:
            args = node.args
            name = args["this"]
            quoted = bool(args.get("quoted"))
            cached = self._cache.get((name, quoted))
            return cached if cached is not None else self.plain(name, quoted)
        if node is None:
            return ""
        if isinstance(node, exp.Identifier):
            return self.plain(node.this, bool(node.args.get("quoted")))
        return node.name

    def table_part(self, node: exp.Expression | None) -> str:
        """Normalised name of one part of a table name, in the context of its Table node."""
        if not isinstance(node, exp.Identifier):
            return node.name if isinstance(node, exp.Expression) else ""
        if self._contextual_tables:
            # The dialect decides from the identifier's parents (it rewrites the node in place,
            # idempotently; the tree belongs to this extraction).
            name = self.dialect.normalize_identifier(node).name
        else:
            name = self.plain(node.this, bool(node.args.get("quoted")))
        if node.args.get("global_"):
            return "##" + name
        if node.args.get("temporary"):
            return "#" + name
        return name


_ASCII_LOWER = {i: i + 32 for i in range(65, 91)}
_ASCII_UPPER = {i + 32: i for i in range(65, 91)}


def table_ref(names: Names, table: exp.Table) -> TableRef | None:
    """Normalised reference for a real table; None for table functions, stages and the like.

    A table variable (T-SQL `@t`) is a table named `@t`: it carries rows between the statements
    of a routine like a temporary table does.
    """
    this = table.this
    if not isinstance(this, exp.Identifier):
        if isinstance(this, exp.Parameter) and isinstance(this.this, exp.Var) and not table.args.get("db"):
            return TableRef("", "", "@" + names.plain(this.this.name))
        return None
    parts = [names.table_part(table.args.get(key)) for key in ("catalog", "db", "this")]
    if not parts[2]:
        return None
    return TableRef(*parts)
