"""Dialect rules of column lineage: lateral alias references, and the names of unaliased columns.

See docs/lineage-accuracy.md for the rules and the dialects they apply to.
"""

from __future__ import annotations

import re

from sqlglot import exp
from sqlglot.dialects.clickhouse import ClickHouse
from sqlglot.dialects.dialect import Dialect, NormalizationStrategy
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.dialects.redshift import Redshift
from sqlglot.dialects.snowflake import Snowflake
from sqlglot.dialects.spark import Spark
from sqlglot.dialects.teradata import Teradata

# Engines that let a select item use an alias defined earlier in the same select list, a source
# column of that name taking precedence (Databricks inherits from Spark 3). sqlglot's generic
# dialect accepts the union of the dialects' syntax, so it resolves them too. BigQuery, PostgreSQL,
# T-SQL, MySQL, Oracle, Trino / Presto, Hive and Spark 2 do not.
_LATERAL_ALIAS_DIALECTS = (Snowflake, Redshift, Spark, DuckDB, Teradata, ClickHouse)

# Longest unaliased expression kept whole as a column name.
MAX_EXPRESSION_NAME = 120

_QUOTED = re.compile(r"""('(?:[^']|'')*'|"(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[^\]]*\])""")


def allows_lateral_aliases(dialect: Dialect) -> bool:
    return type(dialect) is Dialect or isinstance(dialect, _LATERAL_ALIAS_DIALECTS)


def without_phrases(node: exp.Expression) -> exp.Expression:
    """The value under attribute phrases that do not change which column it is: Teradata's
    `col (FORMAT '...')`, `col COLLATE x`, and a PostgreSQL-style shorthand cast `col::type`."""
    while True:
        if isinstance(node, (exp.FormatPhrase, exp.Collate)):
            node = node.this
        elif type(node) is exp.Cast and "format" not in node.args and isinstance(node.this, exp.Column):
            # `CAST(x AS t)` carries (empty) format / safe arguments, `x::t` only `this` and `to`.
            node = node.this
        else:
            return node


class ExpressionNames:
    """Names unaliased select expressions the way a reader recognises them: their SQL text."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        strategy = dialect.normalization_strategy
        if strategy in (NormalizationStrategy.UPPERCASE, NormalizationStrategy.CASE_INSENSITIVE_UPPERCASE):
            self._fold = str.upper
        elif strategy is NormalizationStrategy.CASE_SENSITIVE:
            self._fold = None
        else:
            self._fold = str.lower

    def name(self, node: exp.Expression) -> str:
        """`max(col1)`, `a.x + a.y`, `case when ... end`: the expression as sqlglot writes it in the
        file's dialect, case-folded like unquoted identifiers (quoted parts kept), cut at
        MAX_EXPRESSION_NAME characters."""
        text = node.sql(dialect=self.dialect, comments=False)
        if self._fold is not None:
            fold = self._fold
            text = "".join(part if i % 2 else fold(part) for i, part in enumerate(_QUOTED.split(text)))
        if len(text) > MAX_EXPRESSION_NAME:
            text = text[:MAX_EXPRESSION_NAME] + "…"
        return text

    def values_column(self, position: int) -> str:
        """A VALUES list's unnamed column: `column1`, `column2`, ... as PostgreSQL, Snowflake and
        DuckDB name them."""
        name = f"column{position + 1}"
        return self._fold(name) if self._fold is not None else name
